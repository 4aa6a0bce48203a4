import mqtt from "mqtt";
import { createServer, type AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { isDevBrokerError, startDevBroker } from "../src/index.js";

/** A loopback port with nothing behind it. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("dev broker: cluster mode and what it says of itself", () => {
  it("does not start as a cluster node without its Redis, and says which and how to start one", async () => {
    const port = await closedPort();
    const started = Date.now();
    const error = await startDevBroker({ cluster: { redis: `redis://:hunter2@127.0.0.1:${port}` } }).catch(
      (e: unknown) => e,
    );
    expect(isDevBrokerError(error) && error.code).toBe("CLUSTER_UNREACHABLE");
    expect((error as Error).message).toContain(
      `the cluster's Redis at redis://127.0.0.1:${port} did not answer`,
    );
    // The URL's password is never repeated.
    expect(
      JSON.stringify({ message: (error as Error).message, remedy: (error as { remedy?: string }).remedy }),
    ).not.toContain("hunter2");
    expect((error as { remedy?: string }).remedy).toContain(`redis-server --port ${port} --bind 127.0.0.1`);
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it("refuses a cluster address that is not a Redis URL", async () => {
    const error = await startDevBroker({ cluster: { redis: "http://127.0.0.1:6379" } }).catch(
      (e: unknown) => e,
    );
    expect(isDevBrokerError(error) && error.code).toBe("CLUSTER_URL_INVALID");
  });

  it("publishes its version, retained, where Mosquitto does", async () => {
    await using broker = await startDevBroker({ plain: true });
    const client = await mqtt.connectAsync(broker.plainUrl!, { reconnectPeriod: 0 });
    const version = new Promise<string>((resolve) =>
      client.on("message", (_topic, payload) => resolve(payload.toString())),
    );
    await client.subscribeAsync("$SYS/broker/version");
    expect(await version).toMatch(/^aedes version \d+\.\d+\.\d+ \(@proj\/dev-broker\)$/);
    await client.endAsync();
  });
});
