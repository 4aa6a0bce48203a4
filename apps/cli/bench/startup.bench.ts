// Start-up bench: how long `mqtt-tls doctor --offline` takes as a process, against a bare `node` start in the same
// run (the floor every Node CLI pays). Runs the built bin, as users do.
import { createTestPki } from "@proj/test-broker";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROUNDS = 15;
const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

async function timed(args: string[]): Promise<number> {
  const started = performance.now();
  await run(process.execPath, args).catch((error: { code?: number }) => {
    if (error.code !== 1) throw error; // doctor exits 1 on findings; the time is what counts here
  });
  return performance.now() - started;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

await using pki = await createTestPki({ name: "startup-bench", intermediate: true });
const config = join(pki.dir, "plc.json");
await writeFile(
  config,
  JSON.stringify({
    broker: { url: "mqtts://broker.plant.local:8883", clientId: "line1-plc" },
    security: {
      trustStore: [pki.caFile],
      sendClientCertificate: true,
      keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
    },
    device: "altus-nexto",
  }),
);
const node: number[] = [];
const help: number[] = [];
const doctor: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  node.push(await timed(["-e", "0"]));
  help.push(await timed([bin, "--help"]));
  doctor.push(await timed([bin, "doctor", "--offline", "-c", config]));
}
const [n, h, d] = [median(node), median(help), median(doctor)];
console.log(`start-up: median of ${ROUNDS} process runs (built bin)`);
console.log(`  node -e 0                              ${n.toFixed(0).padStart(5)} ms`);
console.log(`  mqtt-tls --help                        ${h.toFixed(0).padStart(5)} ms`);
console.log(`  mqtt-tls doctor --offline --device     ${d.toFixed(0).padStart(5)} ms`);
console.log(`  ratio doctor / bare node start: ${(d / n).toFixed(1)}x`);
console.log(
  `::bench ${JSON.stringify({ name: "doctor --offline start-up vs a bare node start", ratio: d / n, goal: "report" })}`,
);
