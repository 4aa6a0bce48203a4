// Audit bench: `mqtt-tls audit --configs DIR` over a folder of 10,000 device configurations (each with its own
// client certificate, all sharing one CA file), against `openssl x509 -enddate` run once per certificate file, in
// the same run. Runs the built bin, as users do. Everything is written to a temporary folder, removed at the end.
import { generateKeyPair, signCertificate } from "@proj/pki";
import { execFile, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const DEVICES = 10_000;
const ROUNDS = 3;
const run = promisify(execFile);
const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const dir = await mkdtemp(join(tmpdir(), "mqtt-tls-audit-bench-"));
try {
  const now = Date.now();
  const caPair = await generateKeyPair("ec-p256");
  const ca = await signCertificate({
    subject: "CN=Bench Plant CA",
    publicKey: caPair.publicKey,
    keyType: caPair.type,
    signingPair: caPair,
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 3650 * 86_400_000),
    extensions: [],
  });
  const caFile = join(dir, "ca.crt");
  await writeFile(caFile, ca.toString("pem"));
  // One device key for all: what is measured is reading certificates, not making keys.
  const devicePair = await generateKeyPair("ec-p256");
  const certFiles: string[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const folder = join(dir, `line${Math.floor(i / 500)}`);
    if (i % 500 === 0) await mkdir(folder);
    const cert = await signCertificate({
      subject: `CN=plc-${i}`,
      publicKey: devicePair.publicKey,
      keyType: devicePair.type,
      issuer: { cert: ca, pair: caPair },
      notBefore: new Date(now - 86_400_000),
      notAfter: new Date(now + ((i % 700) + 1) * 86_400_000),
      extensions: [],
    });
    const certFile = join(folder, `plc-${i}.crt`);
    certFiles.push(certFile);
    await writeFile(certFile, cert.toString("pem"));
    await writeFile(
      join(folder, `plc-${i}.json`),
      JSON.stringify({
        broker: { url: "mqtts://broker.plant.local:8883", clientId: `plc-${i}` },
        security: {
          trustStore: [caFile],
          sendClientCertificate: true,
          keyStore: { certificate: certFile, privateKey: certFile },
        },
      }),
    );
  }

  const audit: number[] = [];
  let counted = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    const { stdout } = await run(
      process.execPath,
      [bin, "audit", "--configs", dir, "--json", "--warn-days", "0"],
      {
        maxBuffer: 256 * 1024 * 1024,
      },
    ).catch((error: { code?: number; stdout?: string }) => {
      if (error.code !== 1 || error.stdout === undefined) throw error;
      return { stdout: error.stdout };
    });
    audit.push(performance.now() - started);
    counted = (JSON.parse(stdout) as { certificates: unknown[] }).certificates.length;
  }
  if (counted !== DEVICES + 1)
    throw new Error(`audit counted ${counted} certificates, expected ${DEVICES + 1}`);

  const started = performance.now();
  for (const file of certFiles) {
    const result = spawnSync("openssl", ["x509", "-enddate", "-noout", "-in", file], { encoding: "utf8" });
    if (!result.stdout.startsWith("notAfter=")) throw new Error(`openssl could not read ${file}`);
  }
  const openssl = performance.now() - started;

  const ratio = openssl / median(audit);
  console.log(
    `audit of ${DEVICES} device configurations (${DEVICES + 1} certificates), median of ${ROUNDS} runs`,
  );
  console.log(`  mqtt-tls audit --configs (one process)   ${(median(audit) / 1000).toFixed(2)} s`);
  console.log(`  openssl x509 -enddate, once per file       ${(openssl / 1000).toFixed(2)} s`);
  console.log(`  ratio: ${ratio.toFixed(1)}x faster (goal >= 50x)`);
  console.log(
    `::bench ${JSON.stringify({ name: "audit 10,000 certificates vs openssl per file (x faster)", ratio, goal: ">= 50" })}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
