/**
 * The library under hostile or careless input: nothing is sent where the configuration did not ask, a topic MQTT
 * refuses never reaches the broker, and a message the broker refuses settles instead of looping.
 */
import { createTestPki, startTestBroker, type TestPki } from "@proj/test-broker";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSecure, isMqttTlsError, probe } from "../src/index.js";

const PASSWORD = "lib-Pass-5521-never-sent";
let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "mqtt-tls-hostile" });
});
afterAll(() => pki.cleanup());

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe("connectSecure", () => {
  it("sends nothing to a plain URL while TLS is asked for, even with allowConfigErrors", async () => {
    const received: Buffer[] = [];
    const server = createServer((socket) => socket.on("data", (chunk: Buffer) => received.push(chunk)));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const failure = await failureOf(
        connectSecure(
          {
            broker: {
              url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
              username: "plc",
              password: PASSWORD,
            },
            security: { trustStore: [pki.caFile] },
          },
          { allowConfigErrors: true },
        ),
      );
      expect(isMqttTlsError(failure) && failure.code).toBe("URL_SCHEME_MISMATCH");
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(received).toHaveLength(0);
    } finally {
      server.close();
    }
  });
});

describe("topics", () => {
  it("a publish or subscribe MQTT does not allow is refused before it is sent, and the client stays up", async () => {
    await using broker = await startTestBroker({ pki });
    await using client = await connectSecure({
      broker: { url: broker.url },
      security: { trustStore: [pki.caFile] },
    });
    for (const [topic, qos] of [
      ["a/+", 1],
      ["a/#", 0],
      ["", 1],
      ["x".repeat(70_000), 1],
    ] as const) {
      const failure = await failureOf(client.publish(topic, "1", { qos }));
      expect(isMqttTlsError(failure) && failure.code, topic.slice(0, 10)).toBe("TOPIC_INVALID");
    }
    for (const filter of ["a/#/b", "a/b+", ""]) {
      const failure = await failureOf(client.subscribe(filter));
      expect(isMqttTlsError(failure) && failure.code, filter).toBe("TOPIC_INVALID");
    }
    expect(client.state).toBe("connected");
    await client.publish("a/b", "still fine", { qos: 1 });
  });

  it("a message the broker refuses by closing the connection settles with PUBLISH_REJECTED, and is not sent again", async () => {
    let attempts = 0;
    await using broker = await startTestBroker({
      pki,
      aedes: {
        authorizePublish: (_client, packet, callback) => {
          if (packet.topic === "forbidden/x") attempts++;
          callback(packet.topic === "forbidden/x" ? new Error("not allowed") : null);
        },
      },
    });
    await using client = await connectSecure(
      { broker: { url: broker.url }, security: { trustStore: [pki.caFile] } },
      { backoff: { minMs: 20, maxMs: 50 } },
    );
    const allowed = client.publish("allowed/x", "before", { qos: 1 });
    const failure = await failureOf(client.publish("forbidden/x", "refused", { qos: 1 }));
    await allowed;
    expect(isMqttTlsError(failure) && failure.code).toBe("PUBLISH_REJECTED");
    expect((failure as Error).message).toContain('"forbidden/x" (3 times)');
    const seen = attempts;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(attempts).toBe(seen);
    // The client goes on: what the broker allows still gets through.
    await client.publish("allowed/y", "after", { qos: 1 });
  });
});

describe("probe", () => {
  it("leaves a persistent session and the messages queued for it alone (a reconnecting client probes with its id)", async () => {
    await using broker = await startTestBroker({ pki });
    const config = {
      broker: { url: broker.url, clientId: "scada-queued", cleanSession: false },
      security: { trustStore: [pki.caFile] },
    };
    const first = await connectSecure(config);
    await first.subscribe("queued/x", { qos: 1 });
    await first.end();
    await using publisher = await connectSecure({
      broker: { url: broker.url, clientId: "plc-queued" },
      security: { trustStore: [pki.caFile] },
    });
    for (let i = 0; i < 5; i++) await publisher.publish("queued/x", `m${i}`, { qos: 1 });
    expect((await probe(config)).connected).toBe(true);
    const received: string[] = [];
    await using again = await connectSecure(config);
    again.on("message", (_topic, payload) => received.push(payload.toString()));
    await expect.poll(() => received.length, { timeout: 5000 }).toBe(5);
    expect(received).toEqual(["m0", "m1", "m2", "m3", "m4"]);
  });
});

describe("what a reconnect keeps and a reload may change", () => {
  it("subscriptions come back when the broker kept no session (clean session)", async () => {
    await using broker = await startTestBroker({ pki });
    const connected = new Map<string, { close(): void }>();
    broker.aedes.on("client", (client) => connected.set(client.id, client));
    const security = { trustStore: [pki.caFile] };
    await using subscriber = await connectSecure(
      { broker: { url: broker.url, clientId: "scada-clean" }, security },
      { backoff: { minMs: 20, maxMs: 50 } },
    );
    await subscriber.subscribe("plant/again", { qos: 1 });
    const received: string[] = [];
    subscriber.on("message", (_topic, payload) => received.push(payload.toString()));
    // The broker drops the connection; the client comes back with a new session.
    const back = new Promise<void>((resolve) => {
      let dropped = false;
      subscriber.on("state", (state: string) => {
        if (state !== "connected") dropped = true;
        else if (dropped) resolve();
      });
    });
    connected.get("scada-clean")!.close();
    await back;
    await using publisher = await connectSecure({
      broker: { url: broker.url, clientId: "plc-again" },
      security,
    });
    await expect
      .poll(
        async () => {
          await publisher.publish("plant/again", "after", { qos: 1 });
          return received.includes("after");
        },
        { timeout: 5000, interval: 200 },
      )
      .toBe(true);
  });

  it("a credential reload does not switch TLS or the server check off, nor move the client to another URL", async () => {
    await using broker = await startTestBroker({ pki });
    const file = join(pki.dir, "reload-downgrade.json");
    const config = { broker: { url: broker.url }, security: { trustStore: [pki.caFile] } };
    await writeFile(file, JSON.stringify(config));
    await using client = await connectSecure(file);
    for (const [change, code] of [
      [{ security: { checkServerCertificate: false } }, "SERVER_CERT_CHECK_DISABLED"],
      [{ broker: { url: broker.url.replace("127.0.0.1", "localhost") } }, "FIELD_IGNORED"],
    ] as const) {
      await writeFile(file, JSON.stringify({ ...config, ...change }));
      const reload = await client.reloadCredentials();
      expect(reload.ok).toBe(false);
      expect(reload.findings[0]).toMatchObject({ code, severity: "error" });
    }
    await writeFile(file, JSON.stringify(config));
    expect((await client.reloadCredentials()).ok).toBe(true);
  });
});
