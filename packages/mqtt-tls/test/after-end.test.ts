import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** How long the process may take to end by itself after its report. */
const DEADLINE_MS = 3000;

interface Report {
  readonly activeResources: string[];
  readonly leftAfterEnd: string[];
  readonly leftByClient: string[];
  readonly seenOfClient: string[];
  readonly events: string[];
}

type Line =
  { report: Report } | { exited: { afterMs: number } } | { stillRunning: { activeResources: string[] } };

/** Runs the fixture; kills it (this test's own child) if it has not ended well after its deadline. */
async function run(): Promise<{ lines: Line[]; code: number | null; stderr: string }> {
  const fixture = fileURLToPath(new URL("fixtures/after-end.ts", import.meta.url));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=@proj/source", fixture, String(DEADLINE_MS)],
    { cwd: fileURLToPath(new URL("..", import.meta.url)), stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    // The process reported what kept it alive at the deadline: no need to wait for it any longer.
    if (stdout.includes('"stillRunning"')) child.kill();
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill(), 30_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(killer);
  const lines = stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Line);
  return { lines, code, stderr };
}

describe("SecureClient after end()", () => {
  it("leaves nothing running: no timer, socket or file watcher of its own, and the process ends by itself", async () => {
    const { lines, code, stderr } = await run();
    const report = lines.find((line): line is { report: Report } => "report" in line)?.report;
    expect(report, stderr).toBeDefined();
    // The check can see the client's resources: it watched them being made...
    expect(report!.seenOfClient).toEqual(expect.arrayContaining(["STATWATCHER", "TCPWRAP", "Timeout"]));
    expect(report!.events).toEqual(expect.arrayContaining(["CREDENTIALS_RELOADED", "CERT_EXPIRES_SOON"]));
    // ...and none is left once end() resolved, nor after the broker closed, unref'd timers included (the process's
    // active resources do not list those).
    expect(report!.leftAfterEnd).toEqual([]);
    expect(report!.leftByClient).toEqual([]);
    expect(
      report!.activeResources.filter((kind) =>
        /Timeout|TLSWrap|TCP|FSEventWrap|StatWatcher|Immediate|FSReqCallback/.test(kind),
      ),
    ).toEqual([]);
    // Without process.exit(), the process ended on its own before the deadline.
    expect(lines.filter((line) => "stillRunning" in line)).toEqual([]);
    const exited = lines.find((line): line is { exited: { afterMs: number } } => "exited" in line);
    expect(exited?.exited.afterMs).toBeLessThan(DEADLINE_MS);
    expect(code, stderr).toBe(0);
  });
});
