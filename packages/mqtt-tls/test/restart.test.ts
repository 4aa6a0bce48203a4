import { createTestPki, mosquittoSkipReason, startMosquitto, type MosquittoBroker } from "@proj/test-broker";
import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectSecure } from "../src/index.js";

const MESSAGES = 3000;

describe.skipIf(mosquittoSkipReason())("a QoS 1 stream through a Mosquitto restart", () => {
  it(`delivers all ${MESSAGES} messages, counting duplicates, while the broker is stopped and started again`, async () => {
    await using pki = await createTestPki({ name: "mqtt-tls-restart" });
    const persistenceDir = join(pki.dir, "mosquitto-data");
    await mkdir(persistenceDir);
    await chmod(persistenceDir, 0o777); // Mosquitto writes it as its own user
    // Room to queue the whole stream for an offline subscriber (Mosquitto drops beyond 1000 by default).
    const brokerOptions = {
      pki,
      requireCertificate: true,
      persistenceDir,
      extraListenerConfig: ["max_queued_messages 20000"],
    };
    let broker: MosquittoBroker = await startMosquitto(brokerOptions);
    const port = broker.port;

    const config = (clientId: string) => ({
      broker: { url: broker.url, clientId, cleanSession: false, connectTimeoutMs: 3000 },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
      },
    });
    const options = { baseDir: "/", backoff: { minMs: 50, maxMs: 300 }, maxInflight: 200 };

    try {
      await using subscriber = await connectSecure(config("scada-restart"), options);
      await subscriber.subscribe("plant/stream", { qos: 1 });
      const counts = new Map<string, number>();
      subscriber.on("message", (_topic, payload) =>
        counts.set(payload.toString(), (counts.get(payload.toString()) ?? 0) + 1),
      );

      await using publisher = await connectSecure(config("plc-restart"), options);
      const published: Promise<void>[] = [];
      for (let i = 0; i < MESSAGES; i++) {
        published.push(publisher.publish("plant/stream", `m${i}`, { qos: 1 }));
        if (i === MESSAGES / 3) {
          // Stop the broker mid-stream (Mosquitto saves its state), then start it again on the same port.
          await broker.close();
          broker = await startMosquitto({ ...brokerOptions, port });
        }
        if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(published);
      await expect.poll(() => counts.size, { timeout: 15_000, interval: 100 }).toBe(MESSAGES);
      const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
      console.log(`restart: ${MESSAGES} delivered, ${duplicates} duplicate(s)`);
      expect(subscriber.state).toBe("connected");
    } finally {
      // The broker was restarted into a plain variable: close it whatever happened above.
      await broker.close();
    }
  });
});
