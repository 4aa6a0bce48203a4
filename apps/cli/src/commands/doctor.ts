import { deviceRules, loadedAsDevice } from "@proj/adapter-kit";
import {
  createFinding,
  escapeControl,
  hasErrors,
  mergeLiveFindings,
  renderFindings,
  summarizeFindings,
  type Finding,
} from "@proj/findings";
import type { DoctorConnection } from "@proj/mqtt-tls";
import { PROFILES, withRules } from "@proj/security-config";
import { loadConfigWithStore } from "../store.js";
import { resolve } from "node:path";
import { configUnreadable } from "../config-file.js";
import { deviceById } from "../devices.js";
import { withCliHints } from "../hints.js";
import { CliError, isCliError } from "../errors.js";
import { colorsFor, progress, type CliIo } from "../io.js";

export interface DoctorOptions {
  config: string;
  offline?: boolean;
  json?: boolean;
  profile?: string;
  device?: string;
  timeout?: number;
  color?: boolean;
}

/** The `--json` document of `doctor` (schema/cli-output.schema.json). */
export interface DoctorReport {
  ok: boolean;
  findings: Finding[];
  connection?: DoctorConnection;
}

/**
 * `mqtt-tls doctor`: static findings, the device profile check, then (unless offline) one live TLS + MQTT connect
 * with its diagnosis, all within the deadline. The configuration is read once; the report leads with the cause.
 * Returns the exit code: 0 no error and connected, 1 a problem, 2 an unreadable configuration, an unknown profile
 * or an unknown device.
 */
export async function doctor(options: DoctorOptions, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const path = resolve(io.cwd, options.config);
  const fail = (error: CliError, finding: Finding): number => {
    if (options.json)
      io.stdout(`${JSON.stringify({ ok: false, findings: [finding] } satisfies DoctorReport, null, 2)}\n`);
    else
      io.stderr(
        `${c.red("✖")} ${error.message}\n${error.remedy ? `  ${c.green("→")} ${error.remedy}\n` : ""}`,
      );
    return error.exitCode;
  };

  if (options.profile !== undefined && !Object.hasOwn(PROFILES, options.profile)) {
    const error = new CliError("USAGE", `--profile ${options.profile}: there is no such profile`, {
      remedy: `Use one of: ${Object.keys(PROFILES).join(", ")}.`,
    });
    return fail(
      error,
      createFinding("FIELD_INVALID", "error", `${error.message}.`, {
        path: "security.profile",
        remedy: error.remedy,
      }),
    );
  }

  let loaded = await loadConfigWithStore(
    path,
    { ...(options.profile ? { profile: options.profile } : {}), env: io.env },
    io,
  );
  const unreadable = configUnreadable(loaded, options.config);
  if (unreadable) return fail(unreadable, unreadable.finding);

  const input = loaded.input as Record<string, unknown>;
  const deviceId = options.device ?? (typeof input.device === "string" ? input.device : undefined);
  let adapter;
  try {
    adapter = deviceId === undefined ? undefined : deviceById(deviceId);
  } catch (error) {
    if (!isCliError(error)) throw error;
    return fail(
      error,
      createFinding("FIELD_INVALID", "error", `${error.message}.`, { path: "device", remedy: error.remedy }),
    );
  }
  if (adapter) loaded = withRules(loaded, deviceRules(adapter));

  let findings = [...loaded.findings];
  let connection: DoctorReport["connection"];
  const resolved = loaded.resolved;
  const shownUrl = resolved?.urls[0]?.display ?? "";
  let connectedUrl = shownUrl;

  if (!options.offline) {
    if (!resolved) {
      connection = { attempted: false, connected: false, elapsedMs: 0 };
    } else {
      const target = adapter ? loadedAsDevice(adapter, loaded).loaded : loaded;
      const timeoutMs = options.timeout ?? resolved.config.broker.connectTimeoutMs;
      // The MQTT stack loads only for a live check: --offline starts faster.
      const { doctorConnection, probeBrokerList } = await import("@proj/mqtt-tls");
      if (resolved.urls[0] && resolved.urls[0].tls === resolved.config.security.enableTls)
        progress(io)(
          `Connecting to ${resolved.urls.length > 1 ? `each of ${resolved.urls.length} brokers, from ` : ""}${escapeControl(shownUrl)}${adapter ? ` as ${adapter.name} would` : ""} (deadline ${Math.round(timeoutMs / 100) / 10} s${resolved.urls.length > 1 ? " each" : ""})`,
        );
      const result = await probeBrokerList(target, { timeoutMs });
      findings = mergeLiveFindings(findings, result.findings);
      connection = doctorConnection(result);
      connectedUrl = result.url;
    }
  }

  findings = withCliHints(findings);
  const ok = !hasErrors(findings) && (options.offline === true || connection?.connected === true);
  const report: DoctorReport = { ok, findings, ...(connection ? { connection } : {}) };
  if (options.json) {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    return ok ? 0 : 1;
  }

  const profile = loaded.profile.id;
  io.stdout(
    `${c.bold("mqtt-tls doctor")} ${options.config}  ${c.dim(`profile ${profile}${adapter ? `, device ${adapter.name}` : ""}`)}\n\n`,
  );
  io.stdout(
    findings.length > 0
      ? renderFindings(findings, c)
      : `${c.green("✔")} The configuration has no findings.\n\n`,
  );
  if (connection) {
    if (!connection.attempted)
      io.stdout(
        `${c.dim(resolved ? "Live check skipped: the configuration rules it out (see the error above)." : "Live check skipped: the configuration could not be read.")}\n`,
      );
    else if (connection.connected) {
      io.stdout(
        `${c.green("✔")} Connected to ${escapeControl(connectedUrl)} in ${(connection.nodes?.length ?? 0) > 1 ? (connection.nodes!.find((n) => n.connected)?.elapsedMs ?? connection.elapsedMs) : connection.elapsedMs} ms: ${connection.tlsVersion ?? "plain MQTT"}${connection.cipher ? `, ${connection.cipher}` : ""}${connection.brokerKind ? c.dim(` (broker: ${connection.brokerKind})`) : ""}\n`,
      );
      for (const [i, cert] of (connection.serverChain ?? []).entries()) {
        io.stdout(
          `    ${i === 0 ? "broker" : "issuer"}  ${escapeControl(cert.subject)}  ${c.dim(`(until ${cert.validTo.slice(0, 10)})`)}\n`,
        );
      }
    } else
      io.stdout(
        `${c.red("✖")} Could not connect to ${(connection.nodes?.length ?? 0) > 1 ? "any broker of the list" : `${escapeControl(shownUrl)} (${connection.elapsedMs} ms)`}: see the first error above.\n`,
      );
    if ((connection.nodes?.length ?? 0) > 1)
      for (const node of connection.nodes!)
        io.stdout(
          `    ${node.connected ? c.green("up  ") : c.red("down")}  ${escapeControl(node.url)}  ${c.dim(node.connected ? `${node.elapsedMs} ms${node.brokerKind ? `, ${node.brokerKind}` : ""}` : (node.findings[0]?.code ?? ""))}\n`,
        );
  } else {
    io.stdout(`${c.dim("Live check skipped (--offline).")}\n`);
  }
  io.stdout(`\n${ok ? c.green("OK") : c.red("NOT OK")}: ${summarizeFindings(findings)}.\n`);
  return ok ? 0 : 1;
}
