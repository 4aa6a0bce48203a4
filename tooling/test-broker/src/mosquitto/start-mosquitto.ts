import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { serviceSkipReason } from "../skip.js";
import { freePort, killOnExit, stop } from "../process.js";
import { brokerEndpoints, createWaiters, type BrokerEndpoints } from "@proj/dev-broker";
import type { TestCrl, TestLeaf, TestPki } from "@proj/pki";

/** Options for {@link startMosquitto}. */
export interface MosquittoOptions {
  /** The PKI whose server certificate Mosquitto presents and whose root it trusts (`cafile`). */
  pki: TestPki;
  /** Present this certificate (its chain file and key file) instead of `pki.server`. */
  serverCertificate?: { readonly files: Pick<TestLeaf["files"], "chain" | "key"> };
  /** `cafile`: CA file trusted for client certificates. @default the PKI's root */
  caFile?: string;
  /** `require_certificate true`. @default false */
  requireCertificate?: boolean;
  /** `use_identity_as_username true` (needs `requireCertificate`). @default false */
  useIdentityAsUsername?: boolean;
  /** `tls_version`: the minimum version Mosquitto accepts (not "only this version"). */
  tlsVersion?: "tlsv1.1" | "tlsv1.2" | "tlsv1.3";
  /** `ciphers` (TLS 1.2 and below, OpenSSL syntax). */
  ciphers?: string;
  /** `ciphers_tls1.3`. */
  ciphersTls13?: string;
  /** `crlfile`. */
  crl?: TestCrl;
  /** Also open a plain MQTT listener. @default false */
  plain?: boolean;
  /** `allow_anonymous`: false refuses every CONNECT without credentials (no password file is written). @default true */
  allowAnonymous?: boolean;
  /** Listen on this port (to restart a broker where clients expect it). @default a free port */
  port?: number;
  /**
   * Keep sessions and queued messages in this folder (`persistence true`); Mosquitto writes them on a clean stop,
   * so a restarted broker delivers what it had accepted. @default no persistence
   */
  persistenceDir?: string;
  /** Loopback address to bind. @default "127.0.0.1" */
  host?: "127.0.0.1" | "::1";
  /** More lines for the listener block, e.g. `["max_keepalive 60"]`. */
  extraListenerConfig?: string[];
  /**
   * Replaces the generated TLS listener with this block (e.g. one `mqtt-tls mosquitto-conf` wrote), given the
   * free port and loopback address it must listen on.
   */
  listenerBlock?: (port: number, host: string) => string;
  /** The binary to run. @default {@link findMosquitto} */
  binary?: string;
  /** How long to wait for the listener. @default 10000 */
  startTimeoutMs?: number;
}

/** A running Mosquitto process started by {@link startMosquitto}. */
export interface MosquittoBroker extends BrokerEndpoints, AsyncDisposable {
  readonly pid: number;
  readonly configFile: string;
  readonly config: string;
  /** Everything Mosquitto logged so far. */
  log(): string;
  /** Resolves once the log matches `pattern`; rejects after `timeoutMs` with the log. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) by its PID. */
  close(): Promise<void>;
}

/** Raised when the `mosquitto` binary is missing or the broker does not come up; `log` holds its output. */
export class MosquittoError extends Error {
  readonly log: string;
  constructor(message: string, log = "") {
    super(log ? `${message}\n--- mosquitto log ---\n${log}` : message);
    this.name = "MosquittoError";
    this.log = log;
  }
}

const INSTALL_HINT = "install it with `apt-get install -y mosquitto` (Debian/Ubuntu) or set MOSQUITTO_BIN";

/**
 * Where the `mosquitto` binary is: `$MOSQUITTO_BIN` if set (and only there), else `PATH`, then the sbin folders
 * Debian installs it to (often missing from a non-root PATH). `undefined` when it is not installed.
 */
export function findMosquitto(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.MOSQUITTO_BIN
    ? [env.MOSQUITTO_BIN]
    : [
        ...(env.PATH ?? "").split(delimiter).map((dir) => dir && join(dir, "mosquitto")),
        "/usr/sbin/mosquitto",
        "/usr/local/sbin/mosquitto",
      ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * For `describe.skipIf(mosquittoSkipReason())`: a reason to skip the Mosquitto interop tests when the binary is
 * missing on a developer machine (printed once), and `false` when they must run. With `CI=true` it is always
 * `false`, so a CI run without Mosquitto fails in `startMosquitto` instead of silently skipping.
 */
export function mosquittoSkipReason(
  env: NodeJS.ProcessEnv = process.env,
  print: (reason: string) => void = console.warn,
): string | false {
  return serviceSkipReason(
    findMosquitto(env) !== undefined,
    `Mosquitto interop tests skipped: no mosquitto binary; ${INSTALL_HINT}`,
    env,
    print,
  );
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function renderConfig(
  options: MosquittoOptions,
  port: number,
  plainPort: number | undefined,
  host: string,
): string {
  const { pki } = options;
  const served = options.serverCertificate ?? pki.server;
  const lines = [
    "# generated by @proj/test-broker for one test run",
    "per_listener_settings false",
    `allow_anonymous ${options.allowAnonymous === false ? "false" : "true"}`,
    ...(options.persistenceDir
      ? [
          "persistence true",
          `persistence_location ${options.persistenceDir.endsWith("/") ? options.persistenceDir : `${options.persistenceDir}/`}`,
        ]
      : ["persistence false"]),
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
    "connection_messages true",
    "log_timestamp false",
    "",
  ];
  if (options.listenerBlock) {
    lines.push(options.listenerBlock(port, host).trimEnd());
    if (plainPort !== undefined) lines.push("", `listener ${plainPort} ${host}`, "set_tcp_nodelay true");
    return `${lines.join("\n")}\n`;
  }
  lines.push(
    `listener ${port} ${host}`,
    "set_tcp_nodelay true",
    `cafile ${options.caFile ?? pki.caFile}`,
    `certfile ${served.files.chain}`,
    `keyfile ${served.files.key}`,
    `require_certificate ${options.requireCertificate ? "true" : "false"}`,
  );
  if (options.useIdentityAsUsername) lines.push("use_identity_as_username true");
  if (options.tlsVersion) lines.push(`tls_version ${options.tlsVersion}`);
  if (options.ciphers) lines.push(`ciphers ${options.ciphers}`);
  if (options.ciphersTls13) lines.push(`ciphers_tls1.3 ${options.ciphersTls13}`);
  if (options.crl) lines.push(`crlfile ${options.crl.file}`);
  lines.push(...(options.extraListenerConfig ?? []));
  if (plainPort !== undefined) lines.push("", `listener ${plainPort} ${host}`, "set_tcp_nodelay true");
  return `${lines.join("\n")}\n`;
}

/**
 * Starts a real Eclipse Mosquitto on a free loopback port with a TLS listener generated from a test PKI, waits
 * until it accepts connections, and stops it by PID on `close()` / `await using`.
 *
 * @example
 * ```ts
 * describe.skipIf(mosquittoSkipReason())("interop", () => {
 *   it("accepts a client certificate", async () => {
 *     await using pki = await createTestPki();
 *     await using mosquitto = await startMosquitto({ pki, requireCertificate: true });
 *     // connect to mosquitto.url ...
 *   });
 * });
 * ```
 * @throws {MosquittoError} when the binary is missing or Mosquitto exits or does not listen in time (with its log).
 */
export async function startMosquitto(options: MosquittoOptions): Promise<MosquittoBroker> {
  const binary = options.binary ?? findMosquitto();
  if (!binary) throw new MosquittoError(`mosquitto binary not found: ${INSTALL_HINT}`);
  const host = options.host ?? "127.0.0.1";
  const timeoutMs = options.startTimeoutMs ?? 10_000;

  // The free port is found by binding and releasing it; another process may take it in between, so retry.
  let lastError: MosquittoError | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort(host));
    const plainPort = options.plain ? await freePort(host) : undefined;
    const config = renderConfig(options, port, plainPort, host);
    const configFile = join(options.pki.dir, `mosquitto-${port}.conf`);
    await writeFile(configFile, config, { mode: 0o644 });

    const child = spawn(binary, ["-c", configFile], { stdio: ["ignore", "pipe", "pipe"] });
    killOnExit(child);
    let log = "";
    const logWaiters = createWaiters();
    const append = (chunk: Buffer): void => {
      log += chunk.toString("utf8");
      logWaiters.notify();
    };
    child.stdout.on("data", append);
    child.stderr.on("data", append);
    let closed = false;
    const allOutput = new Promise<void>((resolve) =>
      child.once("close", () => {
        closed = true;
        resolve();
      }),
    );
    let spawnError: NodeJS.ErrnoException | undefined;
    const spawnFailed = new Promise<false>((resolve) =>
      child.once("error", (error) => {
        spawnError = error;
        resolve(false);
      }),
    );

    const deadline = Date.now() + timeoutMs;
    let listening = false;
    while (Date.now() < deadline && child.exitCode === null && !spawnError) {
      const ready = await Promise.race([
        canConnect(host, port).then(
          async (tls) => tls && (plainPort === undefined || (await canConnect(host, plainPort))),
        ),
        spawnFailed,
      ]);
      if (ready) {
        listening = true;
        break;
      }
      await sleep(25);
    }
    if (spawnError) {
      throw new MosquittoError(
        `could not run ${binary} (${spawnError.code ?? spawnError.message}): ${INSTALL_HINT}`,
      );
    }
    if (!listening) {
      await stop(child);
      // Its last words may still be in the pipes when the exit is seen: the error must carry them.
      if (!closed) await allOutput;
      lastError = new MosquittoError(
        child.exitCode === null
          ? `mosquitto did not listen within ${timeoutMs} ms`
          : `mosquitto exited with code ${child.exitCode}`,
        log,
      );
      if (/Address already in use/i.test(log)) continue;
      throw lastError;
    }

    const close = (): Promise<void> => stop(child);
    return {
      ...brokerEndpoints(host, port, plainPort),
      pid: child.pid!,
      configFile,
      config,
      log: () => log,
      waitForLog: (pattern, waitMs = 5000) =>
        logWaiters.waitFor(
          () => pattern.exec(log)?.[0],
          waitMs,
          () => new MosquittoError(`mosquitto log did not match ${String(pattern)} within ${waitMs} ms`, log),
        ),
      close,
      [Symbol.asyncDispose]: close,
    };
  }
  throw lastError ?? new MosquittoError("mosquitto did not start");
}
