import {
  connectSecure,
  isMqttTlsError,
  topicForDisplay,
  topicProblem,
  type SecureClient,
} from "@proj/mqtt-tls";
import { createFinding, escapeControl, isFindingCode, renderFindings } from "@proj/findings";
import { withSettings } from "@proj/security-config";
import { loadConfigWithStore } from "../store.js";
import { resolve } from "node:path";
import { requireConfig } from "../config-file.js";
import { withCliHints } from "../hints.js";
import { CliError } from "../errors.js";
import { colorsFor, type CliIo, type Colors } from "../io.js";

interface Common {
  config: string;
  topic: string;
  qos?: number;
  /** Overrides the config's clientId (two clients with one id take the session from each other). */
  clientId?: string;
  color?: boolean;
}

export interface PubOptions extends Common {
  message: string;
  retain?: boolean;
}

export interface SubOptions extends Common {
  count?: number;
  /** Seconds to wait for --count messages. */
  timeout?: number;
}

async function connect(options: Common, io: CliIo, c: Colors): Promise<SecureClient | number> {
  const path = resolve(io.cwd, options.config);
  let loaded = requireConfig(await loadConfigWithStore(path, { env: io.env }, io), options.config);
  if (options.clientId !== undefined)
    loaded = withSettings(loaded, { broker: { clientId: options.clientId } });
  if (!loaded.resolved) {
    io.stderr(renderFindings(withCliHints(loaded.findings), c));
    return 1;
  }
  // A connection that goes ahead unprotected says so: TLS off, or a broker that is not authenticated.
  const unprotected = loaded.findings.filter(
    (f) => f.code === "SERVER_CERT_CHECK_DISABLED" || f.code === "TLS_DISABLED",
  );
  if (unprotected.length > 0 && loaded.ok) io.stderr(renderFindings(unprotected, c));
  try {
    return await connectSecure(loaded);
  } catch (error) {
    if (!isMqttTlsError(error)) throw error;
    const findings =
      error.findings.length > 0
        ? error.findings
        : [
            createFinding(
              isFindingCode(error.code) ? error.code : "BROKER_UNREACHABLE",
              "error",
              error.message,
              { remedy: error.remedy },
            ),
          ];
    io.stderr(renderFindings(withCliHints(findings), c));
    return 1;
  }
}

function qosOf(value: number | undefined): 0 | 1 | 2 {
  if (value === undefined) return 0;
  if (value === 0 || value === 1 || value === 2) return value;
  throw new CliError("USAGE", `--qos ${value}: use 0, 1 or 2`);
}

/** `mqtt-tls pub`: connect with the configuration, publish one message, disconnect. */
/** A topic MQTT does not allow is a usage error, found before connecting (a broker would close on it). */
function checkTopic(topic: string, kind: "name" | "filter"): void {
  const problem = topicProblem(topic, kind);
  if (problem === undefined) return;
  throw new CliError("USAGE", `-t "${topicForDisplay(topic)}": ${problem}`, {
    remedy:
      kind === "name"
        ? "Publish to one concrete topic, e.g. plant/line1/level (1 to 65,535 bytes, no + or #)."
        : "Use + for one whole level and # only as the whole last level, e.g. plant/+/level or plant/#.",
  });
}

export async function pub(options: PubOptions, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const qos = qosOf(options.qos);
  checkTopic(options.topic, "name");
  const client = await connect(options, io, c);
  if (typeof client === "number") return client;
  try {
    await client.publish(options.topic, options.message, { qos, retain: options.retain ?? false });
    io.stdout(
      `published ${Buffer.byteLength(options.message)} bytes to ${options.topic} (QoS ${qos}${options.retain ? ", retained" : ""}) over ${client.tlsInfo?.protocol ?? "TCP"}\n`,
    );
    return 0;
  } finally {
    await client.end();
  }
}

/** `mqtt-tls sub`: connect, subscribe, print `topic payload` per message; stop after --count (within --timeout). */
export async function sub(options: SubOptions, io: CliIo, signal?: AbortSignal): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const qos = qosOf(options.qos);
  checkTopic(options.topic, "filter");
  const client = await connect(options, io, c);
  if (typeof client === "number") return client;
  let received = 0;
  try {
    const done = new Promise<boolean>((resolvePromise) => {
      const timer =
        options.timeout === undefined
          ? undefined
          : setTimeout(() => resolvePromise(false), options.timeout * 1000);
      const stop = () => {
        clearTimeout(timer);
        resolvePromise(options.count === undefined);
      };
      client.on("message", (topic: string, payload: Buffer) => {
        received++;
        // On a terminal, a payload's control characters are shown, not obeyed (piped, the bytes stay exact).
        const text = payload.toString();
        io.stdout(`${c.cyan(escapeControl(topic))} ${io.isTty ? escapeControl(text) : text}\n`);
        if (options.count !== undefined && received >= options.count) {
          clearTimeout(timer);
          resolvePromise(true);
        }
      });
      process.once("SIGINT", stop);
      signal?.addEventListener("abort", stop, { once: true });
    });
    client.on("state", (state: string) => {
      if (state === "reconnecting")
        io.stderr(
          `${c.yellow("▲")} connection lost, reconnecting (if this repeats, another client may use the same clientId: --client-id sets another)\n`,
        );
    });
    await client.subscribe(options.topic, { qos });
    io.stderr(`… subscribed to ${options.topic} over ${client.tlsInfo?.protocol ?? "TCP"}\n`);
    const complete = await done;
    if (!complete) {
      io.stderr(
        `${c.red("✖")} received ${received} of ${options.count} message(s) within ${options.timeout} s\n`,
      );
      return 1;
    }
    return 0;
  } finally {
    await client.end();
  }
}
