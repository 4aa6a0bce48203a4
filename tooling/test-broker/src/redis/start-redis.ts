import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { freePort, killOnExit, stop, waitUntilReady } from "../process.js";
import { serviceSkipReason } from "../skip.js";

const INSTALL_HINT = "install it with `apt-get install -y redis-server`";

/** A Redis server started for tests, on loopback, with nothing saved to disk. */
export interface RedisServer extends AsyncDisposable {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  close(): Promise<void>;
}

/** The `redis-server` binary: `REDIS_SERVER`, else Debian's `/usr/bin/redis-server`, else none. */
export function findRedis(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return [env.REDIS_SERVER, "/usr/bin/redis-server", "/usr/local/bin/redis-server"].find(
    (path) => path !== undefined && existsSync(path),
  );
}

/**
 * Why the Redis (cluster) tests cannot run here, printed once; `false` when they can, and always under `CI=true`.
 *
 * @example
 * ```ts
 * describe.skipIf(redisSkipReason())("dev-broker cluster", () => {});
 * ```
 */
export function redisSkipReason(
  env: NodeJS.ProcessEnv = process.env,
  print: (reason: string) => void = console.warn,
): string | false {
  return serviceSkipReason(
    findRedis(env) !== undefined,
    `Redis tests skipped: no redis-server binary; ${INSTALL_HINT}`,
    env,
    print,
  );
}

/**
 * Starts a throwaway `redis-server` on a free loopback port (no snapshots, no append-only file), ready when it
 * says so; stopped by its PID on `close()`.
 *
 * @example
 * ```ts
 * await using redis = await startRedis();
 * await using node = await startDevBroker({ cluster: { redis: redis.url } });
 * ```
 * @throws {Error} when the binary is missing or the server does not start in time (with its log).
 */
export async function startRedis(options: { startTimeoutMs?: number } = {}): Promise<RedisServer> {
  const binary = findRedis();
  if (!binary) throw new Error(`redis-server not found: ${INSTALL_HINT}`);
  const port = await freePort("127.0.0.1");
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  killOnExit(child);
  try {
    await waitUntilReady(child, /Ready to accept connections/, "Redis", options.startTimeoutMs ?? 10_000);
  } catch (error) {
    await stop(child);
    throw error;
  }
  const close = (): Promise<void> => stop(child);
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid!, close, [Symbol.asyncDispose]: close };
}
