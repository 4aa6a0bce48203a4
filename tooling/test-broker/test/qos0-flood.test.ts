import mqttPacket from "mqtt-packet";
import mqtt from "mqtt";
import { connect, type TLSSocket } from "node:tls";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { createTestPki, startTestBroker } from "../src/index.js";

const FLOOD = 50_000;

async function rawTlsPublisher(port: number, ca: string): Promise<TLSSocket> {
  const socket = connect({ host: "127.0.0.1", port, ca });
  await once(socket, "secureConnect");
  socket.write(
    mqttPacket.generate({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clean: true,
      clientId: "flooder",
      keepalive: 30,
    }),
  );
  await once(socket, "data"); // CONNACK
  return socket;
}

describe("QoS 0 flood over TLS (aedes 1.2 overflowed its stack here)", () => {
  it(`stays up and keeps delivering after ${FLOOD} QoS 0 messages written back to back`, async () => {
    await using pki = await createTestPki();
    await using broker = await startTestBroker({ pki });
    const crashes: unknown[] = [];
    broker.aedes.on("clientError", (_client, error) => crashes.push(error));

    const subscriber = await mqtt.connectAsync(broker.url, {
      ca: pki.caPem,
      clientId: "watcher",
      reconnectPeriod: 0,
    });
    let received = 0;
    subscriber.on("message", (topic) => {
      if (topic === "flood") received++;
    });
    await subscriber.subscribeAsync("flood", { qos: 0 });

    // The fastest publisher there is: every PUBLISH in one TLS write, far faster than the broker can parse.
    const flooder = await rawTlsPublisher(broker.port, pki.caPem);
    const publish = mqttPacket.generate({
      cmd: "publish",
      topic: "flood",
      payload: Buffer.alloc(64, 7),
      qos: 0,
      dup: false,
      retain: false,
    });
    flooder.write(Buffer.concat(Array.from({ length: FLOOD }, () => publish)));
    await expect.poll(() => received, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(FLOOD * 0.99);
    flooder.destroy();

    // Also through mqtt.js, as a real device would publish.
    const publisher = await mqtt.connectAsync(broker.url, {
      ca: pki.caPem,
      clientId: "fast-plc",
      reconnectPeriod: 0,
    });
    const before = received;
    for (let i = 0; i < FLOOD; i++) publisher.publish("flood", "x", { qos: 0 });
    await publisher.publishAsync("flood", "fence", { qos: 1 });
    await expect.poll(() => received - before, { timeout: 20_000, interval: 50 }).toBe(FLOOD + 1);

    // Afterwards the broker still accepts new clients and delivers to them.
    const late = await mqtt.connectAsync(broker.url, { ca: pki.caPem, clientId: "late", reconnectPeriod: 0 });
    await late.subscribeAsync("after", { qos: 1 });
    const delivered = new Promise<[string, Buffer]>((resolve) =>
      late.once("message", (t, p) => resolve([t, p])),
    );
    await publisher.publishAsync("after", "still here", { qos: 1 });
    const [topic, payload] = await delivered;
    expect(topic).toBe("after");
    expect(payload.toString()).toBe("still here");
    expect(crashes).toEqual([]);

    await Promise.all([late.endAsync(), publisher.endAsync(), subscriber.endAsync()]);
  });
});
