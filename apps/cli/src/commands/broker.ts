import { isDevBrokerError, startDevBroker, type BrokerPki } from "@proj/dev-broker";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initLabPki, issueLabLeaf } from "@proj/pki";
import { escapeControl } from "@proj/findings";
import { CliError } from "../errors.js";
import { colorsFor, progress, type CliIo } from "../io.js";

export interface BrokerOptions {
  port?: number;
  pki?: string;
  requireClientCert?: boolean;
  /** Refuse a client whose clientId is not its certificate's CN (needs requireClientCert). */
  strictIdentity?: boolean;
  host?: "127.0.0.1" | "::1";
  serverName?: string;
  /** Stop by itself after this many seconds (for scripts and tests). */
  duration?: number;
  /** Run as one node of a cluster on this Redis (`redis://HOST:PORT`). */
  cluster?: string;
  color?: boolean;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function loadPki(dir: string, serverName: string, io: CliIo): Promise<BrokerPki> {
  const base = serverName.replace(/[^A-Za-z0-9._-]+/g, "_");
  if (!(await exists(join(dir, `${base}.key`)))) {
    await issueLabLeaf({
      dir,
      role: "server",
      name: serverName,
      dns: ["localhost"],
      ip: ["127.0.0.1", "::1"],
      progress: progress(io),
    });
  }
  const intermediate = (await exists(join(dir, "intermediate-ca.crt")))
    ? { cert: await readFile(join(dir, "intermediate-ca.crt"), "utf8") }
    : undefined;
  return {
    root: { cert: await readFile(join(dir, "ca.crt"), "utf8") },
    intermediate,
    server: {
      chain: await readFile(join(dir, `${base}-chain.crt`), "utf8"),
      key: await readFile(join(dir, `${base}.key`), "utf8"),
    },
  };
}

/**
 * `mqtt-tls broker`: the embedded aedes broker over TLS on loopback, with mutual TLS from a lab PKI folder (made
 * on the fly in a temporary folder without --pki). Prints each client's certificate identity and each refusal.
 * Runs until Ctrl-C (or --duration).
 */
export async function broker(options: BrokerOptions, io: CliIo, signal?: AbortSignal): Promise<number> {
  if (options.strictIdentity && !options.requireClientCert)
    throw new CliError("USAGE", "--strict-identity needs --require-client-cert", {
      remedy: "Add --require-client-cert: a client's identity is its certificate's CN.",
    });
  if (options.cluster !== undefined && options.pki === undefined)
    throw new CliError("USAGE", "--cluster needs --pki", {
      remedy:
        "Give every node the same lab PKI folder (mqtt-tls pki init --dir lab-pki), so that all present a certificate of one CA and clients move between them.",
    });
  const temporary = options.pki === undefined ? await mkdtemp(join(tmpdir(), "mqtt-tls-broker-")) : undefined;
  try {
    if (temporary) {
      await initLabPki({ dir: temporary, progress: progress(io) });
      await issueLabLeaf({ dir: temporary, role: "client", name: "client", progress: progress(io) });
    }
    return await serve(options, io, temporary ?? options.pki!, temporary, signal);
  } finally {
    // The temporary CA's keys never outlive the command, however it ends.
    if (temporary) await rm(temporary, { recursive: true, force: true });
  }
}

/** One line of the log, whatever a client sent: line breaks folded, control characters escaped. */
function line(text: string): string {
  return escapeControl(text.replace(/\s*\n\s*/g, " "));
}

async function serve(
  options: BrokerOptions,
  io: CliIo,
  dir: string,
  temporary: string | undefined,
  signal: AbortSignal | undefined,
): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const serverName = options.serverName ?? "localhost";
  const pki = await loadPki(dir, serverName, io);
  const clusterErrors = new Set<string>();
  const running = await startDevBroker({
    pki,
    requireClientCert: options.requireClientCert ?? false,
    host: options.host ?? "127.0.0.1",
    ...(options.port !== undefined ? { port: options.port } : {}),
    bindClientIdToCn: options.strictIdentity === true,
    onClient: (client) => {
      const cn = client.certificate?.subjectCn;
      io.stdout(
        `${c.green("+")} ${line(client.clientId)} connected over ${client.tlsVersion ?? "?"} (${client.cipher ?? "?"})${
          client.certificate
            ? `: certificate CN=${line(cn ?? "?")}, serial ${client.certificate.serial}, SHA-256 ${client.certificate.fingerprint256}`
            : ": no client certificate"
        }\n`,
      );
      if (cn !== undefined && cn !== client.clientId)
        io.stdout(
          `${c.yellow("▲")} ${line(client.clientId)} is not the identity of its certificate (CN=${line(cn)}): --strict-identity refuses such clients\n`,
        );
    },
    onRefusal: (failure) =>
      io.stdout(
        `${c.red("✖")} refused a TLS client: ${failure.code ?? "error"} (${line(failure.message)})\n`,
      ),
    onConnectRefusal: (refusal) =>
      io.stdout(`${c.red("✖")} refused CONNECT from ${line(refusal.clientId)}: ${line(refusal.reason)}\n`),
    ...(options.cluster !== undefined
      ? {
          cluster: { redis: options.cluster },
          onClusterError: (error: Error) => {
            // Redis retries by itself: each distinct error once, not once per retry.
            if (clusterErrors.has(error.message)) return;
            clusterErrors.add(error.message);
            io.stderr(`${c.yellow("▲")} cluster Redis: ${line(error.message)} (retrying)\n`);
          },
        }
      : {}),
  }).catch((error: unknown) => {
    if (isDevBrokerError(error) && error.code.startsWith("CLUSTER_"))
      throw new CliError(error.code === "CLUSTER_URL_INVALID" ? "USAGE" : "FAILED", error.message, {
        ...(error.remedy ? { remedy: error.remedy } : {}),
        cause: error,
      });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES")
      throw new CliError(
        "FAILED",
        `port ${options.port ?? "?"} on ${options.host ?? "127.0.0.1"} ${code === "EADDRINUSE" ? "is already in use" : "may not be opened by this user"}`,
        {
          remedy: "Choose another --port (or leave it out for 8883), or stop what listens there.",
          cause: error,
        },
      );
    throw error;
  });
  io.stdout(
    `${c.bold("mqtt-tls dev broker")} listening on ${running.url}${running.cluster ? ` (cluster node ${running.cluster.nodeId} on ${line(running.cluster.redis)})` : ""}\n` +
      `    CA ${join(dir, "ca.crt")}, server certificate for ${serverName}, client certificates ${options.requireClientCert ? "required" : "optional"}\n` +
      (temporary
        ? `    a client certificate to try: ${join(dir, "client-chain.crt")} with ${join(dir, "client.key")}\n`
        : "") +
      `    Ctrl-C stops it.\n`,
  );
  await new Promise<void>((resolve) => {
    const timer = options.duration === undefined ? undefined : setTimeout(resolve, options.duration * 1000);
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    signal?.addEventListener("abort", stop, { once: true });
  });
  await running.close();
  io.stdout("broker stopped\n");
  return 0;
}
