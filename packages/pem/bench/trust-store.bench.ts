/**
 * Trust-store load: how long it takes to read and index a CA bundle (done on every start, and naively on every
 * reconnect). Compares, in one process, node-forge's PKI parser, Node's X509Certificate, and loadTrustStore.
 * Run with `pnpm bench` in this package.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import forge from "node-forge";
import { loadTrustStore } from "../src/index.js";

const SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
const ROUNDS = 60;

async function bundle(): Promise<{ text: string; origin: string }> {
  if (existsSync(SYSTEM_BUNDLE)) return { text: readFileSync(SYSTEM_BUNDLE, "utf8"), origin: SYSTEM_BUNDLE };
  const { createTestPki } = await import("@proj/test-broker");
  const pems: string[] = [];
  for (const keyType of ["rsa2048", "ec-p256", "ec-p384"] as const) {
    for (let i = 0; i < 48; i++) {
      await using pki = await createTestPki({
        name: `bench-${keyType}-${i % 4}`,
        keyType,
        defaultLeaves: false,
      });
      pems.push(pki.caPem);
    }
  }
  return { text: pems.join(""), origin: "generated (no system CA bundle): 48 RSA, 48 P-256, 48 P-384 roots" };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const { text, origin } = await bundle();
const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];

const runs = {
  base64: () => blocks.map((b) => Buffer.from(b.slice(27, -25), "base64")).length,
  forge: () => {
    let read = 0;
    for (const pem of blocks) {
      try {
        forge.pki.certificateFromPem(pem);
        read++;
      } catch {
        // forge reads RSA certificates only
      }
    }
    return read;
  },
  node: () => {
    for (const pem of blocks) new X509Certificate(pem);
    return blocks.length;
  },
  ours: () => loadTrustStore(text).store.size,
};
type Run = keyof typeof runs;

/** Rounds interleaved (each contender once per round), so a slow moment of the machine hits all of them alike. */
function measureAll(): Record<Run, { ms: number; read: number }> {
  const names = Object.keys(runs) as Run[];
  const times = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Run, number[]>;
  const read = {} as Record<Run, number>;
  for (let round = -5; round < ROUNDS; round++) {
    for (const name of names) {
      const start = performance.now();
      read[name] = runs[name]();
      if (round >= 0) times[name].push(performance.now() - start);
    }
  }
  return Object.fromEntries(names.map((n) => [n, { ms: median(times[n]), read: read[n] }])) as Record<
    Run,
    { ms: number; read: number }
  >;
}

const { base64, forge: forgeResult, node: nodeResult, ours } = measureAll();

const rows = [
  ["base64 decoding only (floor)", base64],
  ["node-forge pki.certificateFromPem", forgeResult],
  ["new X509Certificate", nodeResult],
  ["loadTrustStore (read + index)", ours],
] as const;
console.log(`trust-store load: ${blocks.length} certificates from ${origin}, median of ${ROUNDS} rounds`);
for (const [name, r] of rows) {
  console.log(
    `  ${name.padEnd(36)} ${r.ms.toFixed(2).padStart(7)} ms   read ${String(r.read).padStart(3)}/${blocks.length}`,
  );
}
console.log(
  `  ratio vs node-forge:        ${(forgeResult.ms / ours.ms).toFixed(1)}x faster (goal >= 10x, reading all)`,
);
console.log(`  ratio vs new X509Certificate: ${(nodeResult.ms / ours.ms).toFixed(1)}x faster`);
console.log(
  `::bench ${JSON.stringify({ name: "trust-store load vs node-forge (x faster)", ratio: forgeResult.ms / ours.ms, goal: ">= 10" })}`,
);
