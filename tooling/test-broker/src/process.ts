import type { ChildProcess } from "node:child_process";
import { createWaiters } from "@proj/dev-broker";
import { createServer, type AddressInfo, type Socket } from "node:net";

/** Server processes tests started and that still run; killed when the test process exits, even if a test forgot `close()`. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
/** Grandchildren started through a script (their PIDs from a pid file), killed when the test process exits. */
const runningPids = new Set<number>();

/** Kills `pid` (a server a started script forked) when the test process exits; `forget` when it was stopped. */
export function killPidOnExit(pid: number): { forget(): void } {
  runningPids.add(pid);
  installExitHook();
  return { forget: () => runningPids.delete(pid) };
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const orphan of running) orphan.kill("SIGKILL");
    for (const pid of runningPids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

/** Lets a started server end with the test process (SIGKILL at exit) without keeping it alive. */
export function killOnExit(child: ChildProcess): void {
  // A forgotten server must not keep the test process alive: it ends with the process instead.
  child.unref();
  for (const pipe of [child.stdout, child.stderr]) (pipe as Socket | null)?.unref();
  running.add(child);
  child.once("exit", () => running.delete(child));
  installExitHook();
}

/** Stops a server process by its PID: SIGTERM, then SIGKILL after 5 s. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(killer);
}

/** A free TCP port on `host`, found by binding and releasing it (another process may take it: retry on failure). */
export async function freePort(host: string): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Waits until a started server says it is ready (`ready` matches its output), and keeps the end of its output for
 * errors. Rejects when it exits first or after `timeoutMs`, with what it printed.
 */
export async function waitUntilReady(
  child: ChildProcess,
  ready: RegExp,
  what: string,
  timeoutMs: number,
  keep = 8000,
): Promise<{ log(): string }> {
  let log = "";
  const { notify, waitFor } = createWaiters();
  for (const pipe of [child.stdout, child.stderr])
    pipe?.on("data", (chunk: Buffer) => {
      log = (log + chunk.toString("utf8")).slice(-keep);
      notify();
    });
  child.once("exit", () => notify());
  const started = await waitFor(
    () => (ready.test(log) ? true : child.exitCode !== null || child.signalCode !== null ? false : undefined),
    timeoutMs,
    () => new Error(`${what} did not start in time:\n${log.slice(-4000)}`),
  );
  if (!started) throw new Error(`${what} exited:\n${log.slice(-4000)}`);
  return { log: () => log };
}
