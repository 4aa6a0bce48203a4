/**
 * Sparkplug DDATA publish throughput: an edge node's `update()` (report by exception, alias lookup, encode, seq,
 * publish) against the raw SecureClient publishing the same DDATA bytes, encoded before the clock starts. Both at
 * QoS 0 over mutual TLS to a local Mosquitto (or the embedded broker where Mosquitto is missing), followed by a QoS 1
 * fence so the broker has taken every message. Rounds alternate, each on a collected heap; the ratio of medians is
 * reported (goal >= 0.95).
 */
import { connectSecure } from "@proj/mqtt-tls";
import { createTestPki, findMosquitto, startMosquitto, startTestBroker } from "@proj/test-broker";
import { encodePayload, startEdgeNode } from "../src/index.js";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const ROUNDS = 7;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

await using pki = await createTestPki({ name: "bench-sparkplug" });
await using broker = findMosquitto()
  ? await startMosquitto({ pki, requireCertificate: true })
  : await startTestBroker({ pki, requireClientCert: true });
const config = (clientId: string) => ({
  broker: { url: broker.url, clientId },
  security: {
    trustStore: [pki.caFile],
    sendClientCertificate: true,
    keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
    expiryWarningDays: 0,
  },
});

const metrics = [
  { name: "Level", datatype: "Float" as const, value: 0 },
  { name: "Flow", datatype: "Double" as const, value: 0 },
  { name: "Running", datatype: "Boolean" as const, value: false },
];
await using edge = await startEdgeNode(config("bench-edge"), {
  group: "Bench",
  node: "edge",
  devices: [{ id: "tank1", metrics }],
});
await using raw = await connectSecure(config("bench-raw"));
const topic = "spBv1.0/Bench/DDATA/edge/tank1";
const now = Date.now();
// The bytes the edge node publishes for the same values (aliases 1 and 2: Level and Flow change every message).
const datatypeOf = (m: { alias?: number }) => (m.alias === 1 ? "Float" : "Double");
const bytes = Array.from({ length: MESSAGES }, (_, i) =>
  Buffer.from(
    encodePayload(
      {
        timestamp: now,
        seq: i % 256,
        metrics: [
          { alias: 1, timestamp: now, value: i + 1 },
          { alias: 2, timestamp: now, value: i + 0.5 },
        ],
      },
      { datatypeOf },
    ),
  ),
);

async function rate(run: () => void, fence: () => Promise<unknown>): Promise<number> {
  gc(); // each side starts on a collected heap: the other's garbage is not collected on its clock
  const start = performance.now();
  run();
  await fence();
  return MESSAGES / ((performance.now() - start) / 1000);
}

const rawRates: number[] = [];
const edgeRates: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  rawRates.push(
    await rate(
      () => {
        for (let i = 0; i < MESSAGES; i++) void raw.publish(topic, bytes[i]!, { qos: 0 });
      },
      () => raw.publish("bench/fence", "x", { qos: 1 }),
    ),
  );
  const base = round * MESSAGES * 2; // new values every round: each update is published
  edgeRates.push(
    await rate(
      () => {
        for (let i = 0; i < MESSAGES; i++)
          void edge.update({ Level: base + i, Flow: base + i + 0.5 }, { device: "tank1", timestamp: now });
      },
      () => edge.client.publish("bench/fence", "x", { qos: 1 }),
    ),
  );
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const ratio = median(edgeRates) / median(rawRates);
console.log(
  `  DDATA publish: raw SecureClient ${Math.round(median(rawRates))} msg/s, edge node update() ${Math.round(median(edgeRates))} msg/s, ratio ${ratio.toFixed(2)} (goal >= 0.95)`,
);
console.log(
  `::bench ${JSON.stringify({ name: "Sparkplug DDATA publish vs raw SecureClient", ratio, goal: ">= 0.95" })}`,
);
