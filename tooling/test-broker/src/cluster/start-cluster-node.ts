import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createWaiters, type BrokerPki } from "@proj/dev-broker";
import { killOnExit, stop } from "../process.js";

/** One dev-broker cluster node running in a process of its own. */
export interface ClusterNode extends AsyncDisposable {
  /** `mqtts://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The node's aedes id. */
  readonly nodeId: string;
  /** Kills the process at once (SIGKILL): no DISCONNECT, no Will handling, sockets reset by the kernel. */
  kill(): Promise<void>;
  /** Stops it (SIGTERM: the broker closes its clients). */
  close(): Promise<void>;
}

/** Options of {@link startClusterNode}. */
export interface ClusterNodeOptions {
  /** The Redis the cluster's nodes share, `redis://HOST:PORT`. */
  redis: string;
  /** The PKI whose server certificate the node presents (every node of a cluster presents the same name). */
  pki: BrokerPki;
  /** Where clients expect it (to start a node again on its port). @default a free port */
  port?: number;
  requireClientCert?: boolean;
  /** Connections open at once. @default 1000 */
  maxConnections?: number;
  startTimeoutMs?: number;
}

const main = fileURLToPath(new URL("./cluster-node-main.ts", import.meta.url));

/**
 * Starts one node of a dev-broker cluster (aedes on Redis) in a child process, from this package's source through
 * tsx, on loopback; it can be killed with SIGKILL, as a crashed host would go.
 *
 * @example
 * ```ts
 * await using redis = await startRedis();
 * const pki = await createTestPki();
 * await using a = await startClusterNode({ redis: redis.url, pki });
 * await using b = await startClusterNode({ redis: redis.url, pki });
 * await b.kill();
 * ```
 * @throws {Error} when the node exits or does not listen in time (with its output).
 */
export async function startClusterNode(options: ClusterNodeOptions): Promise<ClusterNode> {
  const dir = await mkdtemp(join(tmpdir(), "mqtt-tls-cluster-node-"));
  const file = join(dir, "options.json");
  const { startTimeoutMs, pki, ...rest } = options;
  // Only what the node needs of the PKI (a TestPki holds functions and more keys).
  const served: BrokerPki = {
    server: { chain: pki.server.chain, key: pki.server.key },
    root: { cert: pki.root.cert },
    intermediate: pki.intermediate ? { cert: pki.intermediate.cert } : undefined,
  };
  await writeFile(file, JSON.stringify({ ...rest, pki: served }), { mode: 0o600 });
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const child = spawn(process.execPath, ["--conditions=@proj/source", "--import", tsx, main, file], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  killOnExit(child);
  let out = "";
  let err = "";
  const { notify, waitFor } = createWaiters();
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
    notify();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err = (err + chunk.toString("utf8")).slice(-8000);
    notify();
  });
  child.once("exit", () => notify());
  let started: { port: number; nodeId: string };
  try {
    const outcome = await waitFor(
      () => {
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (line) return JSON.parse(line) as { port: number; nodeId: string };
        return child.exitCode !== null || child.signalCode !== null ? ("exited" as const) : undefined;
      },
      startTimeoutMs ?? 20_000,
      () => new Error(`the cluster node did not listen in time:\n${err}`),
    );
    if (outcome === "exited") throw new Error(`the cluster node exited:\n${err}`);
    started = outcome;
  } catch (error) {
    await stop(child);
    throw error;
  } finally {
    // The options hold the server's private key: gone once the node has read them.
    await rm(dir, { recursive: true, force: true });
  }
  const exited = new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve()),
  );
  const kill = async (): Promise<void> => {
    child.kill("SIGKILL");
    await exited;
  };
  const close = (): Promise<void> => stop(child);
  return {
    url: `mqtts://127.0.0.1:${started.port}`,
    port: started.port,
    pid: child.pid!,
    nodeId: started.nodeId,
    kill,
    close,
    [Symbol.asyncDispose]: close,
  };
}
