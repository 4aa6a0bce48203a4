/**
 * Sparkplug B payload codec: encode + decode of a 100-metric NBIRTH and of a DDATA, this package against
 * `sparkplug-payload` 1.0.3 (Eclipse Tahu's JavaScript codec, protobufjs 6) with the same content, in the same run.
 * Rounds alternate between the two; the ratio is Tahu's median time over ours (goal >= 2: twice as fast).
 */
import { createRequire } from "node:module";
import { decodePayload, encodePayload, type DataTypeName, type Metric } from "../src/index.js";

interface TahuCodec {
  encodePayload(payload: object): Uint8Array;
  decodePayload(bytes: Uint8Array): unknown;
}
const tahu = (createRequire(import.meta.url)("sparkplug-payload") as { get(v: string): TahuCodec }).get(
  "spBv1.0",
);

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 3000);
const ROUNDS = 7;
const now = Date.now();
const TYPES: DataTypeName[] = ["Float", "Double", "Int32", "Boolean", "String", "Int64", "UInt16"];
const sample = (type: DataTypeName, i: number) =>
  ({
    Float: 1.5 + i,
    Double: Math.PI * i,
    Int32: -i,
    Boolean: i % 2 === 0,
    String: `state ${i}`,
    Int64: BigInt(i) * 1_000_000n,
    UInt16: i,
  })[type as "Float"];

const birth: Metric[] = Array.from({ length: 100 }, (_, i) => {
  const datatype = TYPES[i % TYPES.length]!;
  return {
    name: `Line1/Station${Math.floor(i / 10)}/Tag${i}`,
    alias: i + 1,
    timestamp: now,
    datatype,
    value: sample(datatype, i),
  };
});
const ours = { nbirth: { timestamp: now, seq: 0, metrics: birth } };
const typeOf = new Map(birth.map((m) => [m.alias!, m.datatype!]));
const codec = { datatypeOf: (m: { alias?: number }) => typeOf.get(m.alias!) };
const data: Metric[] = birth.slice(0, 5).map((m) => ({ alias: m.alias!, timestamp: now, value: m.value! }));
const ddata = { timestamp: now, seq: 7, metrics: data };
// Tahu's codec takes 64-bit values as numbers and needs each metric's type, in DATA too.
const asTahu = (metrics: Metric[], withType: boolean) =>
  metrics.map((m) => ({
    ...(m.name !== undefined ? { name: m.name } : {}),
    ...(m.alias !== undefined ? { alias: m.alias } : {}),
    timestamp: m.timestamp,
    type: withType ? m.datatype : typeOf.get(m.alias!),
    value: typeof m.value === "bigint" ? Number(m.value) : m.value,
  }));
const theirs = {
  nbirth: { timestamp: now, seq: 0, metrics: asTahu(birth, true) },
  ddata: { timestamp: now, seq: 7, metrics: asTahu(data, false) },
};

function perOp(run: () => void): number {
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) run();
  return ((performance.now() - start) * 1000) / ITERATIONS; // µs
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const cases = {
  "100-metric NBIRTH": {
    ours: () => decodePayload(encodePayload(ours.nbirth)),
    theirs: () => tahu.decodePayload(tahu.encodePayload(theirs.nbirth)),
  },
  DDATA: {
    ours: () => decodePayload(encodePayload(ddata, codec), codec),
    theirs: () => tahu.decodePayload(tahu.encodePayload(theirs.ddata)),
  },
};
for (const [name, run] of Object.entries(cases)) {
  for (let i = 0; i < 500; i++) {
    // warm both
    run.ours();
    run.theirs();
  }
  const o: number[] = [];
  const t: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    o.push(perOp(run.ours));
    t.push(perOp(run.theirs));
  }
  const ratio = median(t) / median(o);
  console.log(
    `  ${name} encode+decode: sparkplug-payload ${median(t).toFixed(1)} µs, @proj/sparkplug ${median(o).toFixed(1)} µs, ${ratio.toFixed(2)}x faster (goal >= 2)`,
  );
  console.log(
    `::bench ${JSON.stringify({ name: `Sparkplug ${name} encode+decode vs sparkplug-payload`, ratio, goal: ">= 2" })}`,
  );
}
