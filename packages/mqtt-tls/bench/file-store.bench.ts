/**
 * FileStore benchmark over mutual TLS 1.3, with every ratio measured in this one run: QoS 1 publish throughput of
 * mqtt.js with a FileStore (each message durable on disk before it is sent) against mqtt.js with its default
 * in-memory store, 100,000 x 64 B with 1000 outstanding, 7 pairs of runs (goal >= 0.8). Against the embedded aedes
 * broker, and against a local Mosquitto too where one is installed. The store's folder is in the system's
 * temporary folder. Run with `pnpm bench` in this package.
 */
import { createTestPki, findMosquitto, startMosquitto, startTestBroker } from "@proj/test-broker";
import mqtt, { type IClientOptions } from "mqtt";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../src/index.js";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const WINDOW = 1000;
const ROUNDS = 7;
const payload = Buffer.alloc(64, 0x2a);

await using pki = await createTestPki({ name: "bench-file-store" });
const tls = { ca: pki.caPem, cert: pki.client.chain, key: pki.client.key, servername: "localhost" };

/** MESSAGES QoS 1 publishes with at most WINDOW outstanding, on a fresh connection; milliseconds. */
async function run(url: string, options: IClientOptions): Promise<number> {
  const client = await mqtt.connectAsync(url, {
    ...tls,
    ...options,
    reconnectPeriod: 0,
    clientId: `bench-${Math.random().toString(16).slice(2)}`,
  });
  const start = performance.now();
  let sent = 0;
  const worker = async () => {
    while (sent < MESSAGES) {
      sent++;
      await client.publishAsync("bench/store", payload, { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  const ms = performance.now() - start;
  await client.endAsync();
  return ms;
}

/**
 * The in-memory store and the FileStore in ROUNDS pairs, alternating which goes first. The ratio is the median of
 * the pairs' (a pair shares the moment, so a slow stretch of the machine hits both sides), with that pair's msg/s.
 */
async function compare(url: string): Promise<{ memory: number; file: number; ratio: number }> {
  const memory: number[] = [];
  const file: number[] = [];
  const runFile = async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-file-store-"));
    try {
      const store = new FileStore(dir);
      file.push(await run(url, { outgoingStore: store }));
      if (store.size !== 0)
        throw new Error(`${store.size} messages left in the FileStore after their acknowledgements`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const runMemory = async () => void memory.push(await run(url, {}));
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      await runMemory();
      await runFile();
    } else {
      await runFile();
      await runMemory();
    }
  }
  const pairs = memory.map((ms, i) => ({ memory: ms, file: file[i]!, ratio: ms / file[i]! }));
  const middle = pairs.sort((a, b) => a.ratio - b.ratio)[Math.floor(pairs.length / 2)]!;
  return {
    memory: MESSAGES / (middle.memory / 1000),
    file: MESSAGES / (middle.file / 1000),
    ratio: middle.ratio,
  };
}

const results: Record<string, { memory: number; file: number; ratio: number }> = {};
{
  await using aedes = await startTestBroker({ pki, requireClientCert: true });
  results.aedes = await compare(aedes.url);
}
if (findMosquitto() !== undefined) {
  await using mosquitto = await startMosquitto({ pki, requireCertificate: true });
  results.Mosquitto = await compare(mosquitto.url);
}

console.log(
  `FileStore benchmark on loopback, mutual TLS 1.3, ${MESSAGES} x 64 B QoS 1, ${WINDOW} outstanding, median of ${ROUNDS} pairs of runs`,
);
for (const [broker, r] of Object.entries(results)) {
  console.log(
    `  publish QoS 1 via ${broker}: mqtt.js in-memory store ${Math.round(r.memory)} msg/s, FileStore ${Math.round(r.file)} msg/s, ratio ${r.ratio.toFixed(2)} (goal >= 0.8)`,
  );
  console.log(
    `::bench ${JSON.stringify({ name: `publish QoS 1 with FileStore vs in-memory store (${broker})`, ratio: r.ratio, goal: ">= 0.8" })}`,
  );
}
