import { createTestPki, mosquittoSkipReason, startMosquitto, type MosquittoBroker } from "@proj/test-broker";
import { chmod, copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectSecure } from "../src/index.js";

const MESSAGES = 10_000;
const RESTART_AT = [2500, 5000, 7500];
const ROTATE_AT = 4000;

describe.skipIf(mosquittoSkipReason())("a QoS 1 stream through faults", () => {
  it(`delivers all ${MESSAGES} messages through three Mosquitto restarts and a certificate rotation`, async () => {
    await using pki = await createTestPki({ name: "mqtt-tls-endurance" });
    const persistenceDir = join(pki.dir, "mosquitto-data");
    await mkdir(persistenceDir);
    await chmod(persistenceDir, 0o777); // Mosquitto writes it as its own user
    const brokerOptions = {
      pki,
      requireCertificate: true,
      useIdentityAsUsername: true,
      persistenceDir,
      // Mosquitto queues at most 1000 messages for an offline client and drops the rest: room for the whole
      // stream, or a slow reconnect of the subscriber loses messages the broker already acknowledged.
      extraListenerConfig: ["max_queued_messages 20000"],
    };
    let broker: MosquittoBroker = await startMosquitto(brokerOptions);
    const port = broker.port;
    // The publisher's key store lives in files of its own, rotated in place as an operator would.
    const certFile = join(pki.dir, "plc-endurance.crt");
    const keyFile = join(pki.dir, "plc-endurance.key");
    const first = await pki.issueClient({ name: "plc-2026" });
    await copyFile(first.files.chain, certFile);
    await copyFile(first.files.key, keyFile);

    const config = (clientId: string, keyStore: { certificate: string; privateKey: string }) => ({
      broker: { url: broker.url, clientId, cleanSession: false, connectTimeoutMs: 3000 },
      security: { trustStore: [pki.caFile], sendClientCertificate: true, keyStore },
    });
    const options = { backoff: { minMs: 50, maxMs: 300 }, maxInflight: 200 };
    try {
      await using subscriber = await connectSecure(
        config("scada-endurance", { certificate: pki.client.files.chain, privateKey: pki.client.files.key }),
        options,
      );
      await subscriber.subscribe("plant/endurance", { qos: 1 });
      const counts = new Map<string, number>();
      subscriber.on("message", (_topic, payload) =>
        counts.set(payload.toString(), (counts.get(payload.toString()) ?? 0) + 1),
      );
      await using publisher = await connectSecure(
        config("plc-endurance", { certificate: certFile, privateKey: keyFile }),
        options,
      );
      const published: Promise<void>[] = [];
      for (let i = 0; i < MESSAGES; i++) {
        published.push(publisher.publish("plant/endurance", `m${i}`, { qos: 1 }));
        if (i === ROTATE_AT) {
          // A new key and certificate (new CN, so the broker's log tells which one connected), taken on the
          // next connection.
          const rotated = await pki.issueClient({ name: "plc-2027", keySlot: "rotated" });
          await copyFile(rotated.files.chain, certFile);
          await copyFile(rotated.files.key, keyFile);
          expect((await publisher.reloadCredentials()).ok).toBe(true);
        }
        if (RESTART_AT.includes(i)) {
          // Stop the broker mid-stream (Mosquitto saves its state), then start it again on the same port.
          await broker.close();
          broker = await startMosquitto({ ...brokerOptions, port });
        }
        if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(published);
      await expect.poll(() => counts.size, { timeout: 30_000, interval: 200 }).toBe(MESSAGES);
      const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
      console.log(
        `endurance: ${MESSAGES} delivered through ${RESTART_AT.length} restarts and a rotation, ${duplicates} duplicate(s)`,
      );
      // After the rotation the publisher came back with the new certificate.
      await broker.waitForLog(/u'plc-2027'/, 5000);
      expect(broker.log()).not.toMatch(/u'plc-2026'/);
      expect(subscriber.state).toBe("connected");
    } finally {
      await broker.close();
    }
  }, 120_000);
});
