// `pnpm bench`: every package's benchmark, one after another (turbo, --concurrency=1), then one table of the
// ratios they report on `::bench {json}` lines. Each ratio is measured against a baseline in the same run.
import { spawn } from "node:child_process";
import { cpus, totalmem } from "node:os";

interface Row {
  name: string;
  ratio: number;
  goal: string;
}

const rows: Row[] = [];
const child = spawn("pnpm", ["exec", "turbo", "run", "bench", "--concurrency=1", "--output-logs=full"], {
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", FORCE_COLOR: "0" },
  stdio: ["ignore", "pipe", "inherit"],
});
let pending = "";
child.stdout.on("data", (chunk: Buffer) => {
  pending += chunk.toString();
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    const match = /::bench (\{.*\})\s*$/.exec(line);
    if (match) rows.push(JSON.parse(match[1]!) as Row);
    else process.stdout.write(`${line}\n`);
  }
});
const code = await new Promise<number>((resolve) => child.once("close", (c) => resolve(c ?? 1)));

const met = (row: Row): string => {
  const goal = /^(<=|>=)\s*([\d.]+)/.exec(row.goal);
  if (!goal) return "";
  const limit = Number(goal[2]);
  return (goal[1] === "<=" ? row.ratio <= limit : row.ratio >= limit) ? "yes" : "NO";
};
const width = Math.max(...rows.map((r) => r.name.length), 10);
console.log(
  `\nRatios (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node})`,
);
console.log(`${"benchmark".padEnd(width)}  ${"ratio".padStart(7)}  goal      met`);
for (const row of rows) {
  console.log(
    `${row.name.padEnd(width)}  ${row.ratio.toFixed(2).padStart(7)}  ${row.goal.padEnd(8)}  ${met(row)}`,
  );
}
process.exitCode = code;
