import { asDevice, profileRule } from "@proj/adapter-kit";
import type { CertificateSummary } from "@proj/mqtt-tls";
import { type Finding, createFinding, hasErrors, renderFindings, summarizeFindings } from "@proj/findings";
import { loadConfig } from "@proj/security-config";
import { dirname, resolve } from "node:path";
import { ConfigUnreadable, readConfigFile } from "../config-file.js";
import { deviceById } from "../devices.js";
import { isCliError, type CliError } from "../errors.js";
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

/** The `--json` document of `doctor` (DESIGN §5). */
export interface DoctorReport {
  ok: boolean;
  findings: Finding[];
  connection?: {
    attempted: boolean;
    connected: boolean;
    tlsVersion?: string;
    cipher?: string;
    serverChain?: Omit<CertificateSummary, "pem">[];
    elapsedMs: number;
  };
}

/**
 * `mqtt-tls doctor`: static findings, the device profile check, then (unless offline) one live TLS + MQTT connect
 * with its diagnosis, all within the deadline. Returns the exit code: 0 no error and connected, 1 a problem,
 * 2 an unreadable configuration or an unknown device.
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

  let raw: Record<string, unknown>;
  try {
    raw = await readConfigFile(path, options.config);
  } catch (error) {
    if (error instanceof ConfigUnreadable) return fail(error, error.finding);
    throw error;
  }
  const deviceId = options.device ?? (typeof raw.device === "string" ? raw.device : undefined);
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

  const rules = adapter
    ? [profileRule(adapter.profile, adapter.name, `device:${adapter.id}`), ...(adapter.rules ?? [])]
    : [];
  const validation = await loadConfig(path, {
    ...(options.profile ? { profile: options.profile } : {}),
    rules,
    env: io.env,
  });
  const findings = [...validation.findings];
  let connection: DoctorReport["connection"];
  const resolved = validation.resolved;

  if (!options.offline) {
    if (!resolved) {
      connection = { attempted: false, connected: false, elapsedMs: 0 };
    } else {
      const target = adapter ? asDevice(adapter, raw, resolved.config).config : raw;
      const timeoutMs = options.timeout ?? resolved.config.broker.connectTimeoutMs;
      const url = resolved.urls[0]?.raw ?? "";
      progress(io)(
        `Connecting to ${url}${adapter ? ` as ${adapter.name} would` : ""} (deadline ${Math.round(timeoutMs / 100) / 10} s)`,
      );
      // The MQTT stack loads only for a live check: --offline starts faster.
      const { probe } = await import("@proj/mqtt-tls");
      const result = await probe(target, {
        baseDir: dirname(path),
        env: io.env,
        timeoutMs,
        ...(options.profile ? { profile: options.profile } : {}),
      });
      findings.push(
        ...result.findings.filter((f) => !findings.some((g) => g.code === f.code && g.path === f.path)),
      );
      connection = {
        attempted: true,
        connected: result.connected,
        ...(result.tlsInfo?.protocol ? { tlsVersion: result.tlsInfo.protocol } : {}),
        ...(result.tlsInfo?.cipher ? { cipher: result.tlsInfo.cipher } : {}),
        ...(result.tlsInfo && result.tlsInfo.peerChain.length > 0
          ? { serverChain: result.tlsInfo.peerChain.map(({ pem: _pem, ...summary }) => summary) }
          : {}),
        elapsedMs: result.elapsedMs,
      };
    }
  }

  const ok = !hasErrors(findings) && (options.offline === true || connection?.connected === true);
  const report: DoctorReport = { ok, findings, ...(connection ? { connection } : {}) };
  if (options.json) {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    return ok ? 0 : 1;
  }

  const profile = validation.profile.id;
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
      io.stdout(`${c.dim("Live check skipped: the configuration could not be read.")}\n`);
    else if (connection.connected) {
      io.stdout(
        `${c.green("✔")} Connected to ${resolved!.urls[0]!.raw} in ${connection.elapsedMs} ms: ${connection.tlsVersion ?? "plain MQTT"}${connection.cipher ? `, ${connection.cipher}` : ""}\n`,
      );
      for (const [i, cert] of (connection.serverChain ?? []).entries()) {
        io.stdout(
          `    ${i === 0 ? "broker" : "issuer"}  ${cert.subject}  ${c.dim(`(until ${cert.validTo.slice(0, 10)})`)}\n`,
        );
      }
    } else
      io.stdout(
        `${c.red("✖")} Could not connect to ${resolved!.urls[0]!.raw} (${connection.elapsedMs} ms): see the error above.\n`,
      );
  } else {
    io.stdout(`${c.dim("Live check skipped (--offline).")}\n`);
  }
  io.stdout(`\n${ok ? c.green("OK") : c.red("NOT OK")}: ${summarizeFindings(findings)}.\n`);
  return ok ? 0 : 1;
}
