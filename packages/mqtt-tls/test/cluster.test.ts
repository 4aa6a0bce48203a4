import {
  createTestPki,
  redisSkipReason,
  startClusterNode,
  startRedis,
  startTestBroker,
  type RedisServer,
  type TestPki,
} from "@proj/test-broker";
import type { Finding } from "@proj/findings";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSecure, type SecureClient } from "../src/index.js";

// A dev-broker cluster: aedes nodes sharing sessions, subscriptions and retained messages through one Redis.
describe.skipIf(redisSkipReason())("a broker cluster (dev broker on Redis)", () => {
  let pki: TestPki;
  let redis: RedisServer;
  beforeAll(async () => {
    [pki, redis] = await Promise.all([createTestPki({ name: "cluster" }), startRedis()]);
  });
  afterAll(async () => {
    await redis?.close();
    await pki?.cleanup();
  });

  const config = (url: string | string[], clientId: string, broker: Record<string, unknown> = {}) => ({
    broker: { url, clientId, connectTimeoutMs: 3000, ...broker },
    security: {
      trustStore: [pki.caFile],
      sendClientCertificate: true,
      keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
    },
  });
  const fast = { backoff: { minMs: 50, maxMs: 500 } };
  const node = () => startTestBroker({ pki, requireClientCert: true, cluster: { redis: redis.url } });

  function collect(client: SecureClient): string[] {
    const seen: string[] = [];
    client.on("message", (_topic, payload) => seen.push(payload.toString()));
    return seen;
  }
  async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error("timed out");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("shows a retained message on every node", async () => {
    await using a = await node();
    await using b = await node();
    await using publisher = await connectSecure(config(a.url, "retain-pub"), fast);
    await publisher.publish("plant/line1/mode", "auto", { qos: 1, retain: true });
    for (const [i, broker] of [a, b].entries()) {
      await using reader = await connectSecure(config(broker.url, `retain-reader-${i}`), fast);
      const seen = collect(reader);
      await reader.subscribe("plant/line1/mode", { qos: 1 });
      await until(() => seen.length === 1);
      expect(seen).toEqual(["auto"]);
    }
  });

  it("delivers what was queued for a persistent session when the device comes back through another node", async () => {
    await using a = await node();
    await using b = await node();
    const persistent = { cleanSession: false };
    const first = await connectSecure(config(a.url, "line1-plc-session", persistent), fast);
    await first.subscribe("plant/line1/cmd/#", { qos: 1 });
    await first.end();
    await using writer = await connectSecure(config(b.url, "scada-writer"), fast);
    for (let i = 0; i < 5; i++) await writer.publish(`plant/line1/cmd/${i}`, `setpoint ${i}`, { qos: 1 });
    // The device's first node is gone; it comes back through the other one, without subscribing again.
    await a.close();
    const again = await connectSecure(config(b.url, "line1-plc-session", persistent), fast);
    const seen = collect(again);
    await until(() => seen.length >= 5);
    await again.end();
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `setpoint ${i}`));
  });

  it("loses no QoS 1 message when the node a publisher is on is killed in the middle of the stream", async () => {
    await using a = await startClusterNode({ redis: redis.url, pki, requireClientCert: true });
    await using b = await startClusterNode({ redis: redis.url, pki, requireClientCert: true });
    await using subscriber = await connectSecure(config(a.url, "historian", { cleanSession: false }), fast);
    const seen = collect(subscriber);
    await subscriber.subscribe("plant/stream/#", { qos: 1 });

    // The publisher is on b first; b dies (SIGKILL) after about a third of the stream.
    await using publisher = await connectSecure(config([b.url, a.url], "line1-plc-stream"), fast);
    const diagnoses: Finding[] = [];
    publisher.on("diagnosis", (finding) => diagnoses.push(finding));
    const total = 1500;
    const sent: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      sent.push(publisher.publish("plant/stream/level", String(i), { qos: 1 }));
      if (i === 500) await b.kill();
    }
    await Promise.all(sent);
    await until(() => new Set(seen).size === total && publisher.nodes[0]!.state === "down", 20_000);
    expect(new Set(seen).size).toBe(total);
    expect(publisher.state).toBe("connected");
    expect(diagnoses.map((f) => f.code)).toContain("BROKER_NODE_DOWN");
    expect(publisher.nodes.map((n) => n.state)).toEqual(["down", "connected"]);
  });
});
