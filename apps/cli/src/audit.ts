import type { CertStore } from "@proj/cert-store";
import { createFinding, type Finding } from "@proj/findings";
import { parsePem, readCertificateHeader, validityProblem, type CertificateHeader } from "@proj/pem";
import { parseJsonText, readBoundedFile } from "@proj/security-config";
import { readdir } from "node:fs/promises";
import { dirname, isAbsolute, join, relative } from "node:path";

const DAY = 86_400_000;
/** How deep `--configs` is searched, and how many JSON files at most: a folder of a fleet, not a whole disk. */
const WALK = { depth: 8, files: 200_000 } as const;

/** Files read at once: enough to keep the disk busy, far below any open-file limit. */
const READ_CONCURRENCY = 32;

/** Runs `work` on every item, at most `limit` at a time. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Where a certificate was found. */
type AuditSource = "store" | "config" | "broker";

/** One distinct certificate of the fleet (by issuer and serial), with everything that uses it. */
interface AuditedCertificate {
  readonly subject: string;
  readonly issuer: string;
  readonly subjectCN: string | undefined;
  readonly issuerCN: string | undefined;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly daysLeft: number;
  readonly source: AuditSource;
  readonly usedBy: string[];
  readonly findings: Finding[];
}

/** What `audit` looked at, and what it found beside certificates (files it could not read). */
export interface AuditResult {
  readonly certificates: AuditedCertificate[];
  readonly findings: Finding[];
  readonly configs: string[];
}

interface Collector {
  add(header: CertificateHeader, source: AuditSource, user: string): void;
  readonly problems: Finding[];
}

function collector(): Collector & {
  entries: Map<string, { header: CertificateHeader; source: AuditSource; usedBy: Set<string> }>;
} {
  const entries = new Map<string, { header: CertificateHeader; source: AuditSource; usedBy: Set<string> }>();
  return {
    entries,
    problems: [],
    add(header, source, user) {
      const key = `${header.issuer}\u0000${header.serialNumber}`;
      let entry = entries.get(key);
      if (!entry) {
        entry = { header, source, usedBy: new Set() };
        entries.set(key, entry);
      }
      entry.usedBy.add(user);
    },
  };
}

/** The certificates of a PEM or DER file's bytes. */
function headersOf(bytes: Uint8Array): CertificateHeader[] {
  const direct = readCertificateHeader(bytes);
  if (direct) return [direct];
  return parsePem(bytes).blocks.flatMap((block) => {
    if (block.type !== "certificate") return [];
    const header = readCertificateHeader(block.der);
    return header ? [header] : [];
  });
}

async function jsonFiles(dir: string, depth = 0, found: string[] = []): Promise<string[]> {
  if (depth > WALK.depth || found.length >= WALK.files) return found;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await jsonFiles(path, depth + 1, found);
    else if (entry.isFile() && entry.name.endsWith(".json") && found.length < WALK.files) found.push(path);
  }
  return found;
}

/** The certificate references of a configuration object: trust store entries and the key store's chain. */
function references(config: unknown): string[] {
  const security = (config as { security?: Record<string, unknown> } | null)?.security;
  if (!security || typeof security !== "object") return [];
  const refs: string[] = [];
  const trust = security.trustStore;
  for (const entry of Array.isArray(trust) ? trust : [trust]) if (typeof entry === "string") refs.push(entry);
  const ks = security.keyStore;
  if (typeof ks === "string") refs.push(ks);
  else if (ks && typeof ks === "object") {
    const certificate = (ks as { certificate?: unknown }).certificate;
    if (typeof certificate === "string") refs.push(certificate);
  }
  return refs.filter((r) => !r.startsWith("env:"));
}

/**
 * Every certificate of a store and of a folder of configurations, each file read once however many configurations
 * name it, described from the DER without a full parse (10,000 certificates in a second or two).
 */
export async function collectCertificates(options: {
  store?: CertStore | undefined;
  configsDir?: string | undefined;
  cwd: string;
  now?: Date;
  warnDays: number;
  /** Called with every configuration found, for `--probe`. */
  brokers?: (configPaths: readonly string[]) => Promise<{ url: string; chain: CertificateHeader[] }[]>;
}): Promise<AuditResult> {
  const found = collector();
  const storeItems = new Map<string, CertificateHeader[]>();
  if (options.store) {
    for (const item of await options.store.list()) {
      const headers = item.certificates.flatMap((c) => headersOf(Buffer.from(c.pem)));
      storeItems.set(item.name, headers);
      for (const header of headers) found.add(header, "store", `store:${item.name}`);
    }
  }
  const configs: string[] = [];
  if (options.configsDir !== undefined) {
    const files = new Map<string, Promise<CertificateHeader[] | Finding>>();
    const readCertificates = (path: string, shownAs: string) => {
      let pending = files.get(path);
      if (!pending) {
        pending = readBoundedFile(path, "bundle", shownAs).then((read) =>
          "bytes" in read
            ? headersOf(read.bytes)
            : createFinding(read.code, "error", read.message, { remedy: read.remedy }),
        );
        files.set(path, pending);
      }
      return pending;
    };
    const paths = await jsonFiles(options.configsDir);
    await eachLimited(paths, READ_CONCURRENCY, async (file) => {
      const shown = relative(options.cwd, file) || file;
      const read = await readBoundedFile(file, "config", shown);
      if (!("bytes" in read)) return;
      const parsed = parseJsonText(read.bytes.toString("utf8"));
      if (!parsed.ok) return;
      const refs = references(parsed.value);
      if (refs.length === 0 && !(parsed.value as { broker?: unknown } | null)?.broker) return;
      configs.push(file);
      for (const ref of refs) {
        if (ref.startsWith("store:")) {
          const headers = storeItems.get(ref.slice(6));
          if (!headers) {
            found.problems.push(
              createFinding(
                "STORE_ITEM_NOT_FOUND",
                "error",
                `${shown} names ${ref}, which the store does not hold.`,
                {
                  path: shown,
                },
              ),
            );
          }
          for (const header of headers ?? []) found.add(header, "store", shown);
          continue;
        }
        if (ref.includes("-----BEGIN ")) {
          for (const header of headersOf(Buffer.from(ref))) found.add(header, "config", shown);
          continue;
        }
        const path = isAbsolute(ref) ? ref : join(dirname(file), ref);
        const result = await readCertificates(path, ref);
        if (Array.isArray(result)) for (const header of result) found.add(header, "config", shown);
        else found.problems.push({ ...result, path: shown, message: `${shown}: ${result.message}` });
      }
    });
    configs.sort();
  }
  for (const broker of (await options.brokers?.(configs)) ?? []) {
    for (const header of broker.chain) found.add(header, "broker", broker.url);
  }

  const now = options.now ?? new Date();
  const certificates = [...found.entries.values()].map(({ header, source, usedBy }): AuditedCertificate => {
    const daysLeft = Math.floor((header.notAfter.getTime() - now.getTime()) / DAY);
    const who = header.subjectCN ?? header.subject;
    // The project's one judgement of a validity period; only the remedy is the audit's own.
    const problem = validityProblem(header, now, options.warnDays);
    const findings: Finding[] = problem
      ? [
          createFinding(
            problem.code,
            problem.code === "CERT_EXPIRES_SOON" ? "warning" : "error",
            `"${who}" ${problem.text}.`,
            {
              remedy:
                problem.code === "CERT_EXPIRES_SOON"
                  ? "Plan its rotation: mqtt-tls rotate, or renew it with its CA."
                  : "Renew it and install the new certificate everywhere it is used (usedBy).",
            },
          ),
        ]
      : [];
    return {
      subject: header.subject,
      issuer: header.issuer,
      subjectCN: header.subjectCN,
      issuerCN: header.issuerCN,
      serial: header.serialNumber,
      notBefore: header.notBefore,
      notAfter: header.notAfter,
      daysLeft,
      source,
      usedBy: [...usedBy].sort(),
      findings,
    };
  });
  certificates.sort(
    (a, b) => a.notAfter.getTime() - b.notAfter.getTime() || a.subject.localeCompare(b.subject),
  );
  return { certificates, findings: found.problems, configs };
}

/** Prometheus label value escaping (backslash, double quote, line feed). */
const label = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/**
 * The Prometheus exposition of an audit, with the metric and label names of the common certificate exporters
 * (x509-certificate-exporter): `x509_cert_not_after`, `x509_cert_not_before` (Unix seconds) and `x509_cert_expired`
 * (0 or 1), labelled `subject_CN`, `issuer_CN`, `serial_number`, plus `source` and the first user.
 */
export function prometheusText(result: AuditResult, now = new Date()): string {
  const metrics = [
    ["x509_cert_not_after", "The date after which the certificate is no longer valid, in Unix seconds."],
    ["x509_cert_not_before", "The date before which the certificate is not yet valid, in Unix seconds."],
    ["x509_cert_expired", "1 when the certificate has expired, else 0."],
  ] as const;
  const lines: string[] = [];
  for (const [name, help] of metrics) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const cert of result.certificates) {
      const labels = [
        `serial_number="${label(cert.serial)}"`,
        `subject_CN="${label(cert.subjectCN ?? "")}"`,
        `issuer_CN="${label(cert.issuerCN ?? "")}"`,
        `source="${cert.source}"`,
        `used_by="${label(cert.usedBy[0] ?? "")}"`,
      ].join(",");
      const value =
        name === "x509_cert_not_after"
          ? cert.notAfter.getTime() / 1000
          : name === "x509_cert_not_before"
            ? cert.notBefore.getTime() / 1000
            : cert.notAfter < now
              ? 1
              : 0;
      lines.push(`${name}{${labels}} ${value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
