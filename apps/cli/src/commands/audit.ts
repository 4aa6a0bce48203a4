import { renderFindings } from "@proj/findings";
import type { CertificateHeader } from "@proj/pem";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { collectCertificates, prometheusText, type AuditResult } from "../audit.js";
import { CliError } from "../errors.js";
import { colorsFor, type CliIo } from "../io.js";
import { loadConfigWithStore, openCliStore } from "../store.js";

export interface AuditOptions {
  store?: string;
  configs?: string;
  probe?: boolean;
  json?: boolean;
  prometheus?: boolean;
  warnDays?: number;
  color?: boolean;
}

/** How many brokers `--probe` checks at once. */
const PROBE_CONCURRENCY = 8;

/** The chains the brokers named by the configurations present (one probe per distinct URL). */
async function brokerChains(
  paths: readonly string[],
  io: CliIo,
): Promise<{ url: string; chain: CertificateHeader[] }[]> {
  const [{ probe }, { readCertificateHeader }] = await Promise.all([
    import("@proj/mqtt-tls"),
    import("@proj/pem"),
  ]);
  const byUrl = new Map<string, string>();
  for (const path of paths) {
    const loaded = await loadConfigWithStore(path, { env: io.env }, io);
    const url = loaded.resolved?.urls[0];
    if (url?.tls && !byUrl.has(url.display)) byUrl.set(url.display, path);
  }
  const out: { url: string; chain: CertificateHeader[] }[] = [];
  const queue = [...byUrl];
  await Promise.all(
    Array.from({ length: Math.min(PROBE_CONCURRENCY, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [url, path] = next;
        const result = await probe(await loadConfigWithStore(path, { env: io.env }, io));
        const chain = (result.tlsInfo?.peerChain ?? []).flatMap((c) => {
          const header = readCertificateHeader(
            Buffer.from(c.pem.replace(/-----[^-]+-----|\s+/g, ""), "base64"),
          );
          return header ? [header] : [];
        });
        out.push({ url, chain });
      }
    }),
  );
  return out;
}

function needsAction(result: AuditResult): boolean {
  return (
    result.findings.some((f) => f.severity === "error") ||
    result.certificates.some((c) => c.findings.some((f) => f.severity !== "info"))
  );
}

/**
 * `mqtt-tls audit`: every certificate of the store and of a folder of configurations (and, with `--probe`, of the
 * brokers they name), soonest to expire first, with who uses it; exit 1 when one needs action.
 */
export async function audit(options: AuditOptions, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const warnDays = options.warnDays ?? 30;
  const defaultStore = resolve(io.cwd, "mqtt-tls-store.db");
  const useStore =
    options.store !== undefined || io.env.MQTT_TLS_STORE !== undefined || existsSync(defaultStore);
  if (!useStore && options.configs === undefined) {
    throw new CliError("USAGE", "audit needs something to look at: --configs DIR, or a store", {
      remedy:
        "mqtt-tls audit --configs plant/  (and --store URL or MQTT_TLS_STORE for the certificate store)",
    });
  }
  const store = useStore ? await openCliStore(io, options.store) : undefined;
  let result: AuditResult;
  try {
    result = await collectCertificates({
      store,
      configsDir: options.configs === undefined ? undefined : resolve(io.cwd, options.configs),
      cwd: io.cwd,
      warnDays,
      ...(options.probe ? { brokers: (paths: readonly string[]) => brokerChains(paths, io) } : {}),
    });
  } finally {
    await store?.close();
  }
  const ok = !needsAction(result);
  if (options.prometheus) {
    io.stdout(prometheusText(result));
    return ok ? 0 : 1;
  }
  if (options.json) {
    const certificates = result.certificates.map(
      ({ subjectCN: _s, issuerCN: _i, notBefore: _n, ...cert }) => ({
        ...cert,
        notAfter: cert.notAfter.toISOString(),
      }),
    );
    io.stdout(`${JSON.stringify({ ok, certificates, findings: result.findings }, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  io.stdout(
    `${c.bold(`${result.certificates.length} certificate(s)`)} in ${[
      ...(store ? [store.location] : []),
      ...(options.configs !== undefined
        ? [`${result.configs.length} configuration(s) under ${options.configs}`]
        : []),
    ].join(" and ")}, soonest to expire first (warning within ${warnDays} days)\n`,
  );
  for (const cert of result.certificates) {
    const mark = cert.findings.some((f) => f.severity === "error")
      ? c.red("✖")
      : cert.findings.length > 0
        ? c.yellow("▲")
        : c.green("✔");
    const left = `${cert.daysLeft} d`.padStart(8);
    const users =
      cert.usedBy.length > 3
        ? `${cert.usedBy.slice(0, 3).join(", ")} and ${cert.usedBy.length - 3} more`
        : cert.usedBy.join(", ");
    io.stdout(
      `${mark} ${left}  ${cert.notAfter.toISOString().slice(0, 10)}  ${cert.subject}\n` +
        `${" ".repeat(14)}${c.dim(`issuer ${cert.issuer}, serial ${cert.serial}, ${cert.source}; used by ${users}`)}\n`,
    );
  }
  if (result.findings.length > 0) io.stderr(renderFindings(result.findings, c));
  return ok ? 0 : 1;
}
