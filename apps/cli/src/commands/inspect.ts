import {
  type Finding,
  createFinding,
  escapeControl,
  hasErrors,
  isFindingCode,
  renderFindings,
  summarizeFindings,
} from "@proj/findings";
import {
  buildChain,
  inspectCertificate,
  inspectCrl,
  isPemError,
  keyMatchesCertificate,
  encodePem,
  parsePem,
  readPkcs12,
  readPrivateKey,
  type CertificateInfo,
  type PemBlock,
} from "@proj/pem";
import { X509Certificate } from "node:crypto";
import { readBoundedFile } from "@proj/security-config";
import { resolve } from "node:path";
import { colorsFor, table, type CliIo, type Colors } from "../io.js";

export interface InspectOptions {
  files: string[];
  json?: boolean;
  passphrase?: string;
  color?: boolean;
}

interface CertView {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  status: "valid" | "expired" | "not-yet-valid";
  daysLeft: number;
  subjectAltNames: { dns: string[]; ip: string[] };
  key: string;
  signature: string;
  ca: boolean;
  pathLength?: number;
  keyUsage: string[];
  extKeyUsage: string[];
  selfSigned: boolean;
  sha256: string;
  spkiPin: string;
  derBytes: number;
}

interface KeyView {
  type: string;
  bits?: number;
  curve?: string;
  encoding: string;
  encrypted: boolean;
  /** Subject of an inspected certificate this key belongs to. */
  matches?: string;
}

interface CrlView {
  issuer: string;
  thisUpdate: string;
  nextUpdate?: string;
  revoked: number;
  stale: boolean;
}

/** What one file holds. */
interface FileView {
  path: string;
  format: string;
  certificates: CertView[];
  keys: KeyView[];
  crls: CrlView[];
  /** For two or more certificates: subjects leaf first, and whether the bundle was in that order. */
  chain?: { order: string[]; inOrder: boolean };
}

const DER_LABELS: Record<string, string> = {
  certificate: "CERTIFICATE",
  crl: "X509 CRL",
  "private-key": "PRIVATE KEY",
  "encrypted-private-key": "ENCRYPTED PRIVATE KEY",
  "public-key": "PUBLIC KEY",
  csr: "CERTIFICATE REQUEST",
};

function keyName(info: CertificateInfo["publicKey"]): string {
  if (info.type === "rsa" || info.type === "rsa-pss") return `RSA ${info.bits ?? "?"} bits`;
  if (info.type === "ec") return `EC ${info.curve ?? "?"}`;
  return info.type === "ed25519" ? "Ed25519" : info.type;
}

function certView(info: CertificateInfo, pem: string, now: Date): CertView {
  const daysLeft = Math.floor((info.notAfter.getTime() - now.getTime()) / 86_400_000);
  return {
    subject: info.subject.oneLine,
    issuer: info.issuer.oneLine,
    serialNumber: info.serialNumber,
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
    status: info.notAfter < now ? "expired" : info.notBefore > now ? "not-yet-valid" : "valid",
    daysLeft,
    subjectAltNames: { dns: [...info.subjectAltNames.dns], ip: [...info.subjectAltNames.ip] },
    key: keyName(info.publicKey),
    signature: info.signature.algorithm,
    ca: info.basicConstraints?.ca ?? false,
    ...(info.basicConstraints?.pathLength !== undefined
      ? { pathLength: info.basicConstraints.pathLength }
      : {}),
    keyUsage: [...(info.keyUsage ?? [])],
    extKeyUsage: [...(info.extKeyUsage ?? [])],
    selfSigned: info.selfSigned,
    sha256: info.fingerprints.sha256,
    spkiPin: info.spkiPin,
    derBytes: new X509Certificate(pem).raw.length,
  };
}

/** The blocks of a file, whatever its encoding; DER and bare base64 are armoured so one path reads them all. */
function blocksOf(
  bytes: Buffer,
  path: string,
  passphrase: string | undefined,
  findings: Finding[],
): { format: string; blocks: PemBlock[] | { pem: string; type: PemBlock["type"] }[] } {
  const parsed = parsePem(bytes, { source: path });
  if (parsed.format === "pkcs12") {
    try {
      const p12 = readPkcs12(bytes, passphrase ?? "");
      return {
        format: "pkcs12",
        blocks: [
          ...p12.certificates.map((pem) => ({ pem, type: "certificate" as const })),
          ...(p12.key ? [{ pem: p12.key, type: "private-key" as const }] : []),
        ],
      };
    } catch (error) {
      const code = isPemError(error) ? error.code : "PEM_MALFORMED";
      const noPassphrase =
        passphrase === undefined &&
        (code === "KEY_PASSPHRASE_WRONG" || code === "KEY_ENCRYPTED_NO_PASSPHRASE");
      findings.push(
        createFinding(
          noPassphrase ? "KEY_ENCRYPTED_NO_PASSPHRASE" : isFindingCode(code) ? code : "PEM_MALFORMED",
          // As for an encrypted key: not read without its passphrase is a warning, a wrong one an error.
          noPassphrase ? "warning" : "error",
          noPassphrase
            ? `${path}: the PKCS#12 bundle is protected; give its passphrase.`
            : `${path}: ${(error as Error).message}.`,
          {
            remedy: noPassphrase
              ? "Run again with --passphrase env:NAME (the variable NAME holds the passphrase)."
              : "Check the passphrase and the file.",
          },
        ),
      );
      return { format: "pkcs12", blocks: [] };
    }
  }
  if (
    (parsed.format === "der" || parsed.format === "base64") &&
    parsed.derKind &&
    DER_LABELS[parsed.derKind]
  ) {
    const der =
      parsed.format === "der" ? bytes : Buffer.from(bytes.toString("latin1").replace(/\s+/g, ""), "base64");
    // Reading DER is what inspect is for: the conversion hint stays, as a note.
    findings.push(...parsed.findings.map((f) => ({ ...f, severity: "info" as const })));
    return { format: parsed.format, blocks: parsePem(encodePem(der, DER_LABELS[parsed.derKind])).blocks };
  }
  findings.push(...parsed.findings);
  return { format: parsed.format, blocks: parsed.blocks };
}

/**
 * `mqtt-tls inspect`: what each PEM, DER, PKCS#12 or CRL file holds (certificates, keys, CRLs), a bundle shown as
 * a chain with its order and gaps. Exit 0, or 1 when a file could not be read or a bundle has an error.
 */
export async function inspect(options: InspectOptions, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const now = new Date();
  const findings: Finding[] = [];
  const files: FileView[] = [];
  const pendingKeys: { view: KeyView; pem: string }[] = [];
  const allCerts: { subject: string; pem: string }[] = [];

  for (const file of options.files) {
    // Bounded and regular files only: /dev/zero, a FIFO or a folder is a finding, never a hang.
    const read = await readBoundedFile(resolve(io.cwd, file), "any", file);
    if (!("bytes" in read)) {
      findings.push(createFinding(read.code, "error", read.message, { remedy: read.remedy }));
      continue;
    }
    const bytes = read.bytes;
    const view: FileView = { path: file, format: "", certificates: [], keys: [], crls: [] };
    const { format, blocks } = blocksOf(bytes, file, options.passphrase, findings);
    view.format = format;
    const certPems: string[] = [];
    for (const block of blocks) {
      try {
        if (block.type === "certificate") {
          const info = inspectCertificate(block.pem);
          view.certificates.push(certView(info, block.pem, now));
          certPems.push(block.pem);
          allCerts.push({ subject: info.subject.oneLine, pem: block.pem });
        } else if (block.type === "crl") {
          const crl = inspectCrl(block.pem);
          view.crls.push({
            issuer: crl.issuer,
            thisUpdate: crl.thisUpdate.toISOString(),
            ...(crl.nextUpdate ? { nextUpdate: crl.nextUpdate.toISOString() } : {}),
            revoked: crl.revokedSerials.length,
            stale: crl.nextUpdate !== undefined && crl.nextUpdate < now,
          });
        } else if (block.type.endsWith("private-key")) {
          try {
            const key = readPrivateKey(block.pem, options.passphrase);
            const keyView: KeyView = {
              type: key.type,
              ...(key.bits !== undefined ? { bits: key.bits } : {}),
              ...(key.curve !== undefined ? { curve: key.curve } : {}),
              encoding: key.encoding,
              encrypted: key.encrypted,
            };
            view.keys.push(keyView);
            pendingKeys.push({
              view: keyView,
              pem: key.keyObject.export({ type: "pkcs8", format: "pem" }) as string,
            });
          } catch (error) {
            if (!isPemError(error)) throw error;
            const encrypted = error.code === "KEY_ENCRYPTED_NO_PASSPHRASE";
            view.keys.push({
              type: "unknown",
              encoding: block.type,
              encrypted: encrypted || error.code === "KEY_PASSPHRASE_WRONG",
            });
            findings.push(
              createFinding(error.code, encrypted ? "warning" : "error", `${file}: ${error.message}.`, {
                remedy: encrypted
                  ? "Give --passphrase env:NAME (the variable NAME holds the passphrase) to check the key."
                  : "Check the passphrase.",
              }),
            );
          }
        }
      } catch (error) {
        findings.push(
          createFinding(
            "PEM_MALFORMED",
            "error",
            `${file}: a ${block.type} block cannot be read: ${(error as Error).message}.`,
            {
              remedy: "Re-export the file from its source.",
            },
          ),
        );
      }
    }
    if (certPems.length > 1) {
      const built = buildChain(certPems, { source: file });
      view.chain = {
        order: built.chain.map((cert) => cert.subject.oneLine),
        inOrder: !built.findings.some((f) => f.code === "CHAIN_ORDER"),
      };
      for (const finding of built.findings) {
        if (finding.code === "CHAIN_UNTRUSTED") continue;
        // A bundle that climbs to an intermediate is what a TLS peer sends: its root belongs in the other side's
        // trust store, so a missing root is a note, not an error.
        const endsAtRoot = finding.code === "CHAIN_INCOMPLETE" && built.chain.length > 1;
        findings.push(
          endsAtRoot
            ? {
                ...finding,
                severity: "info",
                message: `${file} ends at ${built.chain.at(-1)!.subject.oneLine}; its root is not in the file (the peer's trust store must hold it).`,
              }
            : finding,
        );
      }
    }
    files.push(view);
  }
  for (const { view, pem } of pendingKeys) {
    const match = allCerts.find((cert) => keyMatchesCertificate(pem, cert.pem));
    if (match) view.matches = match.subject;
  }

  const ok = !hasErrors(findings);
  if (options.json) {
    io.stdout(`${JSON.stringify({ ok, findings, files }, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  // Text from certificates and file names is the file's author's: no control character reaches the terminal.
  for (const file of files) io.stdout(renderFile(escapedStrings(file), c));
  if (findings.length > 0) io.stdout(`\n${renderFindings(findings, c)}`);
  io.stdout(`${ok ? c.green("OK") : c.red("NOT OK")}: ${summarizeFindings(findings)}.\n`);
  return ok ? 0 : 1;
}

/** A copy of plain data with every control character in its strings escaped (see `escapeControl`). */
function escapedStrings<T>(value: T): T {
  if (typeof value === "string") return escapeControl(value) as T;
  if (Array.isArray(value)) return value.map(escapedStrings) as T;
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapedStrings(v)])) as T;
  return value;
}

function renderFile(file: FileView, c: Colors): string {
  const out = [`${c.bold(file.path)}  ${c.dim(file.format.toUpperCase())}`];
  file.certificates.forEach((cert, i) => {
    const status =
      cert.status === "expired"
        ? c.red(`EXPIRED ${-cert.daysLeft} days ago`)
        : cert.status === "not-yet-valid"
          ? c.yellow("NOT YET VALID")
          : cert.daysLeft < 30
            ? c.yellow(`expires in ${cert.daysLeft} days`)
            : c.green(`valid, ${cert.daysLeft} days left`);
    out.push(`  ${c.cyan(`Certificate ${i + 1}`)}${cert.ca ? c.dim(" (CA)") : ""}`);
    out.push(
      table(
        [
          ["Subject", cert.subject],
          ["Issuer", cert.selfSigned ? `${cert.issuer} ${c.dim("(self-signed)")}` : cert.issuer],
          ["Validity", `${cert.notBefore.slice(0, 10)} → ${cert.notAfter.slice(0, 10)}  ${status}`],
          [
            "Names",
            cert.subjectAltNames.dns.length + cert.subjectAltNames.ip.length > 0
              ? [
                  ...cert.subjectAltNames.dns.map((d) => `DNS:${d}`),
                  ...cert.subjectAltNames.ip.map((a) => `IP:${a}`),
                ].join(", ")
              : cert.extKeyUsage.includes("serverAuth") || (!cert.ca && cert.extKeyUsage.length === 0)
                ? c.yellow("no subjectAltName: TLS clients match the host name against nothing")
                : c.dim("(none)"),
          ],
          ["Key", cert.key],
          ["Signature", cert.signature],
          ["Usage", [...cert.keyUsage, ...cert.extKeyUsage].join(", ") || c.dim("(none)")],
          [
            "CA",
            cert.ca ? `yes${cert.pathLength !== undefined ? `, path length ${cert.pathLength}` : ""}` : "no",
          ],
          ["Serial", cert.serialNumber],
          ["SHA-256", cert.sha256],
          ["SPKI pin", cert.spkiPin],
        ],
        c,
        "    ",
      ),
    );
  });
  for (const key of file.keys) {
    const what =
      key.type === "unknown"
        ? "unreadable without the passphrase"
        : `${key.type.toUpperCase()}${key.bits ? ` ${key.bits} bits` : ""}${key.curve ? ` ${key.curve}` : ""}`;
    out.push(`  ${c.cyan("Private key")}`);
    out.push(
      table(
        [
          ["Key", what],
          ["Encoding", `${key.encoding}${key.encrypted ? ", encrypted" : ""}`],
          ["Matches", key.matches ?? c.dim("no inspected certificate")],
        ],
        c,
        "    ",
      ),
    );
  }
  for (const crl of file.crls) {
    out.push(`  ${c.cyan("CRL")}`);
    out.push(
      table(
        [
          ["Issuer", crl.issuer],
          ["Updated", crl.thisUpdate.slice(0, 19).replace("T", " ")],
          [
            "Next",
            crl.nextUpdate
              ? `${crl.nextUpdate.slice(0, 19).replace("T", " ")}${crl.stale ? c.red("  STALE") : ""}`
              : c.dim("(none)"),
          ],
          ["Revoked", String(crl.revoked)],
        ],
        c,
        "    ",
      ),
    );
  }
  if (file.chain) {
    out.push(
      `  ${c.cyan("Chain")} ${file.chain.inOrder ? c.green("(in order)") : c.yellow("(out of order in the file)")}`,
    );
    file.chain.order.forEach((subject, i) => out.push(`    ${i === 0 ? "  " : "↑ "}${subject}`));
  }
  if (file.certificates.length + file.keys.length + file.crls.length === 0)
    out.push(c.dim("  nothing readable"));
  return `${out.join("\n")}\n\n`;
}
