import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, killOnExit, stop, waitUntilReady } from "../process.js";
import { serviceSkipReason } from "../skip.js";

const INSTALL_HINT = "install it with `apt-get install -y postgresql`";

/** A PostgreSQL server started for tests. */
export interface PostgresServer extends AsyncDisposable {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication, loopback only). */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** A URL of the same server for database `name`. */
  urlFor(name: string): string;
  close(): Promise<void>;
}

/** Where PostgreSQL's server programs are: `POSTGRES_BIN_DIR`, Debian's `/usr/lib/postgresql/<newest>/bin`, or none. */
export function findPostgres(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env.POSTGRES_BIN_DIR];
  if (existsSync("/usr/lib/postgresql")) {
    const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join("/usr/lib/postgresql", v, "bin")));
  }
  return candidates.find(
    (dir) => dir !== undefined && existsSync(join(dir, "postgres")) && existsSync(join(dir, "initdb")),
  );
}

/**
 * Why PostgreSQL tests cannot run here (no server binaries), printed once; `false` when they can. Where `CI=true`
 * it is always `false`: the tests run and fail on the missing binary instead of skipping.
 *
 * @example
 * ```ts
 * describe.skipIf(postgresSkipReason())("PostgreSQL store", () => {});
 * ```
 */
export function postgresSkipReason(
  env: NodeJS.ProcessEnv = process.env,
  print: (reason: string) => void = console.warn,
): string | false {
  return serviceSkipReason(
    findPostgres(env) !== undefined,
    `PostgreSQL tests skipped: no PostgreSQL server binaries; ${INSTALL_HINT}`,
    env,
    print,
  );
}

/** The user the server runs as: PostgreSQL refuses to run as root, so root starts it as `postgres`. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((entry) => entry.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error(`no postgres user to run the server as: ${INSTALL_HINT}`);
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Starts a throwaway PostgreSQL server: `initdb` into a temporary folder, `postgres` on a free loopback port (no
 * fsync: test data only), ready when it says so; stopped by its PID and its folder removed on `close()`.
 *
 * @example
 * ```ts
 * await using server = await startPostgres();
 * const store = await openCertStore(server.url, { backends: [postgresBackend] });
 * ```
 * @throws {Error} when the binaries are missing, or the server does not start in time (with its log).
 */
export async function startPostgres(options: { startTimeoutMs?: number } = {}): Promise<PostgresServer> {
  const bin = findPostgres();
  if (!bin) throw new Error(`PostgreSQL server binaries not found: ${INSTALL_HINT}`);
  const user = serverUser();
  const dir = await mkdtemp(join(tmpdir(), "mqtt-tls-postgres-"));
  if (user) await chown(dir, user.uid, user.gid);
  const data = join(dir, "data");
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  const init = spawnSync(
    join(bin, "initdb"),
    ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "--encoding=UTF8", "--no-locale"],
    { ...asUser, encoding: "utf8" },
  );
  if (init.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  }
  const port = await freePort("127.0.0.1");
  const child = spawn(
    join(bin, "postgres"),
    ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
    { ...asUser, stdio: ["ignore", "pipe", "pipe"] },
  );
  killOnExit(child);
  try {
    await waitUntilReady(
      child,
      /ready to accept connections/,
      "PostgreSQL",
      options.startTimeoutMs ?? 20_000,
    );
  } catch (error) {
    await stop(child);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const urlFor = (name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await stop(child);
      await rm(dir, { recursive: true, force: true });
    })());
  return { url: urlFor("postgres"), port, pid: child.pid!, urlFor, close, [Symbol.asyncDispose]: close };
}
