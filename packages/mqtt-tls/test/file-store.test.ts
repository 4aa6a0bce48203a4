import { createTestPki, startTestBroker, type TestBroker } from "@proj/test-broker";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileStore, connectSecure } from "../src/index.js";

describe("FileStore", () => {
  it("keeps unacknowledged QoS 1 messages across a restart of the client process, and sends them first", async () => {
    await using pki = await createTestPki({ name: "mqtt-tls-store" });
    let broker: TestBroker = await startTestBroker({ pki, requireClientCert: true });
    const port = broker.port;
    const outbox = join(pki.dir, "outbox");
    const config = (clientId: string) => ({
      broker: { url: broker.url, clientId, connectTimeoutMs: 2000 },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
      },
    });
    const options = { baseDir: "/", backoff: { minMs: 50, maxMs: 200 } };

    await using subscriber = await connectSecure(config("scada-store"), options);
    await subscriber.subscribe("plant/outbox", { qos: 1 });
    const received: string[] = [];
    subscriber.on("message", (_topic, payload) => received.push(payload.toString()));

    // The first process publishes while the broker is down, then dies before anything is acknowledged.
    const first = await connectSecure(config("plc-store"), {
      ...options,
      outgoingStore: new FileStore(outbox),
    });
    await broker.close();
    const lost = Array.from({ length: 20 }, (_, i) =>
      first.publish("plant/outbox", `before-${i}`, { qos: 1 }).catch(() => "not acknowledged"),
    );
    await expect
      .poll(() => readdirSync(outbox).filter((f) => f.endsWith(".json")).length, { timeout: 3000 })
      .toBe(20);
    await first.end(true);
    expect(await Promise.all(lost)).toEqual(Array(20).fill("not acknowledged"));

    // The broker returns; a new process with the same outbox sends the 20, then what it publishes itself.
    broker = await startTestBroker({ pki, requireClientCert: true, port });
    await expect.poll(() => subscriber.state, { timeout: 5000 }).toBe("connected");
    await subscriber.subscribe("plant/outbox", { qos: 1 });
    const store = new FileStore(outbox);
    expect(store.size).toBe(20);
    await using second = await connectSecure(config("plc-store"), { ...options, outgoingStore: store });
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => second.publish("plant/outbox", `after-${i}`, { qos: 1 })),
    );
    await expect.poll(() => new Set(received).size, { timeout: 5000 }).toBe(25);
    expect(received.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `before-${i}`));
    expect(readdirSync(outbox).filter((f) => f.endsWith(".json"))).toEqual([]);
    await broker.close();
  });
});
