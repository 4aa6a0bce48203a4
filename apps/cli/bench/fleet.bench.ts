// Fleet bench: N devices, each with its own client certificate, connect to a local Mosquitto with mutual TLS 1.3:
// once through @proj/mqtt-tls (runFleet, as `mqtt-tls fleet` does) and once with bare mqtt.js, each in a fresh
// process of the same run, and the ratios of connect-all time and memory per connection are printed.
import { createTestPki, findMosquitto, startMosquitto } from "@proj/test-broker";
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import mqtt from "mqtt";
import { initLabPki } from "@proj/pki";
import { fleetCertificates, runFleet } from "../src/fleet.js";

const DEVICES = Number(process.env.FLEET_DEVICES ?? 1000);
const run = promisify(execFile);

interface VariantResult {
  connected: number;
  connectAllMs: number;
  memoryPerConnectionKiB: number;
}

async function bare(url: string, caFile: string, pkiDir: string): Promise<VariantResult> {
  const identities = await fleetCertificates(pkiDir, DEVICES);
  const ca = await readFile(caFile);
  const files = await Promise.all(
    identities.map(async (d) => ({
      name: d.name,
      cert: await readFile(d.certificate),
      key: await readFile(d.privateKey),
    })),
  );
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const clients = await Promise.all(
    files.map((d) =>
      mqtt.connectAsync(url, {
        ca,
        cert: d.cert,
        key: d.key,
        clientId: d.name,
        reconnectPeriod: 0,
        connectTimeout: 30_000,
      }),
    ),
  );
  const connectAllMs = performance.now() - started;
  const memoryPerConnectionKiB = (process.memoryUsage().rss - rssBefore) / 1024 / clients.length;
  await Promise.all(clients.map((c) => c.endAsync(true)));
  return { connected: clients.length, connectAllMs, memoryPerConnectionKiB };
}

async function ours(url: string, caFile: string, pkiDir: string): Promise<VariantResult> {
  const report = await runFleet({
    config: { broker: { url, connectTimeoutMs: 30_000 }, security: { trustStore: [caFile] } },
    baseDir: "/",
    pkiDir,
    devices: DEVICES,
    rate: 1,
    rampSeconds: 0,
    durationSeconds: 1,
  });
  return {
    connected: report.connected,
    connectAllMs: report.connectAllMs,
    memoryPerConnectionKiB: report.memoryPerConnectionKiB,
  };
}

const [variant, url, caFile, pkiDir] = process.argv.slice(2);
if (variant === "bare" || variant === "ours") {
  // A child process of the run below: one variant, one JSON line.
  const result = await (variant === "bare" ? bare : ours)(url!, caFile!, pkiDir!);
  console.log(JSON.stringify(result));
  process.exit(0);
}

if (!findMosquitto()) {
  console.log("fleet bench: skipped, no mosquitto binary (apt-get install -y mosquitto)");
  process.exit(0);
}
const work = await mkdtemp(join(tmpdir(), "fleet-bench-"));
try {
  await using pki = await createTestPki({ name: "fleet-bench" });
  const labDir = join(work, "lab");
  const lab = await initLabPki({ dir: labDir });
  // Mosquitto drops to its own user: it must reach the CA file.
  await chmod(work, 0o755);
  await chmod(labDir, 0o755);
  process.stderr.write(`… issuing ${DEVICES} device certificates\n`);
  await fleetCertificates(labDir, DEVICES);
  await using mosquitto = await startMosquitto({ pki, requireCertificate: true, caFile: lab.caFile });
  const self = fileURLToPath(import.meta.url);
  const variantRun = async (name: "bare" | "ours"): Promise<VariantResult> => {
    const profile = process.env.FLEET_PROFILE
      ? ["--cpu-prof", `--cpu-prof-dir=${process.env.FLEET_PROFILE}`]
      : [];
    const args = [
      ...profile,
      "--import",
      "tsx",
      "--conditions=@proj/source",
      self,
      name,
      mosquitto.url,
      pki.caFile,
      labDir,
    ];
    const { stdout } = await run(process.execPath, args, {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      maxBuffer: 1 << 24,
    });
    return JSON.parse(stdout.trim().split("\n").at(-1)!) as VariantResult;
  };
  // Alternate, twice each: the better of two runs per variant.
  const results: Record<"bare" | "ours", VariantResult[]> = { bare: [], ours: [] };
  for (let round = 0; round < 2; round++) {
    for (const name of ["bare", "ours"] as const) results[name].push(await variantRun(name));
  }
  const best = (list: VariantResult[]) => list.reduce((a, b) => (b.connectAllMs < a.connectAllMs ? b : a));
  const b = best(results.bare);
  const o = best(results.ours);
  const timeRatio = o.connectAllMs / b.connectAllMs;
  const memoryRatio = o.memoryPerConnectionKiB / b.memoryPerConnectionKiB;
  console.log(
    `fleet: ${DEVICES} devices, each with its own certificate, mutual TLS 1.3 to Mosquitto, all at once; better of 2`,
  );
  console.log(
    `  bare mqtt.js        connect all ${b.connectAllMs.toFixed(0)} ms (${b.connected} connected), ${b.memoryPerConnectionKiB.toFixed(1)} KiB/connection`,
  );
  console.log(
    `  @proj/mqtt-tls      connect all ${o.connectAllMs.toFixed(0)} ms (${o.connected} connected), ${o.memoryPerConnectionKiB.toFixed(1)} KiB/connection`,
  );
  console.log(
    `  ratio connect-all time ${timeRatio.toFixed(2)} (goal <= 1.0), memory ${memoryRatio.toFixed(2)}`,
  );
  console.log(
    `::bench ${JSON.stringify({ name: `fleet connect-all time vs bare mqtt.js (${DEVICES} devices)`, ratio: timeRatio, goal: "<= 1.0" })}`,
  );
  console.log(
    `::bench ${JSON.stringify({ name: "fleet memory per connection vs bare mqtt.js", ratio: memoryRatio, goal: "report" })}`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
