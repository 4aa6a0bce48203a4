import { basename } from "node:path";
import { classifyDer, firstValueLength, readDer, type DerKind } from "./der.js";
import { createFinding, type Finding } from "@proj/findings";

/** What a PEM block holds, from its label. */
export type PemBlockType =
  | "certificate"
  | "private-key"
  | "encrypted-private-key"
  | "rsa-private-key"
  | "ec-private-key"
  | "public-key"
  | "rsa-public-key"
  | "crl"
  | "csr"
  | "pkcs7"
  | "parameters"
  | "unknown";

const LABELS: Readonly<Record<string, PemBlockType>> = {
  CERTIFICATE: "certificate",
  "X509 CERTIFICATE": "certificate",
  "TRUSTED CERTIFICATE": "certificate",
  "PRIVATE KEY": "private-key",
  "ENCRYPTED PRIVATE KEY": "encrypted-private-key",
  "RSA PRIVATE KEY": "rsa-private-key",
  "EC PRIVATE KEY": "ec-private-key",
  "PUBLIC KEY": "public-key",
  "RSA PUBLIC KEY": "rsa-public-key",
  "X509 CRL": "crl",
  "CERTIFICATE REQUEST": "csr",
  "NEW CERTIFICATE REQUEST": "csr",
  PKCS7: "pkcs7",
  CMS: "pkcs7",
  "EC PARAMETERS": "parameters",
  "DH PARAMETERS": "parameters",
};

/** One PEM block, decoded. */
export interface PemBlock {
  readonly type: PemBlockType;
  /** The label between `-----BEGIN ` and `-----`. */
  readonly label: string;
  /** The decoded bytes (for `TRUSTED CERTIFICATE`, the certificate without OpenSSL's trust settings). */
  readonly der: Buffer;
  /** The block as canonical PEM: LF line ends, 64 columns, headers kept. */
  readonly pem: string;
  /** 1-based line of the BEGIN line, and of the END line. */
  readonly line: number;
  readonly endLine: number;
  /** RFC 1421 headers, e.g. `Proc-Type: 4,ENCRYPTED` and `DEK-Info` of a legacy encrypted OpenSSL key. */
  readonly headers: Readonly<Record<string, string>>;
  /** The key inside is encrypted (`ENCRYPTED PRIVATE KEY`, or a legacy `Proc-Type: 4,ENCRYPTED` key). */
  readonly encrypted: boolean;
}

/** What the input turned out to be. */
export type InputFormat = "pem" | "der" | "pkcs12" | "pkcs7" | "base64" | "empty" | "text" | "binary";

/** What {@link parsePem} read: the input's format, every block, and the problems found. */
export interface ParsePemResult {
  readonly format: InputFormat;
  /** For DER or base64 input: what the bytes hold. */
  readonly derKind?: DerKind;
  readonly blocks: PemBlock[];
  /** Problems with the input: not PEM (with the exact conversion), malformed blocks, unknown blocks. */
  readonly findings: Finding[];
}

/** Options of {@link parsePem}. */
export interface ParsePemOptions {
  /** A name for the input (usually its file path): used in messages, and in the commands of remedies. */
  source?: string;
}

const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * DER bytes in PEM armour (64-character base64 lines, RFC 7468), with optional RFC 1421 headers.
 *
 * @example
 * ```ts
 * import { X509Certificate } from "node:crypto";
 * const pem = encodePem(new X509Certificate(await readFile("broker.pem")).raw); // "-----BEGIN CERTIFICATE-----\n..."
 * ```
 */
export function encodePem(
  der: Uint8Array,
  label = "CERTIFICATE",
  headers: Record<string, string> = {},
): string {
  return armor(label, headers, Buffer.from(der.buffer, der.byteOffset, der.byteLength));
}

function armor(label: string, headers: Record<string, string>, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  const headerBlock = head.length > 0 ? `${head.join("\n")}\n\n` : "";
  return `-----BEGIN ${label}-----\n${headerBlock}${lines.join("\n")}\n-----END ${label}-----\n`;
}

function describeSource(source: string | undefined): { name: string; file: string } {
  if (source === undefined) return { name: "the input", file: "FILE" };
  return { name: source, file: basename(source) || "FILE" };
}

function stem(file: string): string {
  return file === "FILE" ? "FILE" : file.replace(/\.[^.]+$/, "") || file;
}

/** The finding for DER (binary) input of a known kind, with the exact openssl conversion. */
function derFinding(kind: DerKind, source: string | undefined, viaBase64: boolean): Finding {
  const { name, file } = describeSource(source);
  const out = `${stem(file)}.pem`;
  const input = viaBase64 ? `${stem(file)}.der` : file;
  const decode = viaBase64 ? `openssl base64 -d -A -in ${file} -out ${input} && ` : "";
  const code = viaBase64 ? "NOT_PEM_BASE64" : "NOT_PEM_DER";
  const what = viaBase64 ? "base64 without the PEM BEGIN/END lines" : "DER (binary)";
  switch (kind) {
    case "pkcs12":
      return createFinding("NOT_PEM_PKCS12", "error", `${name} is a PKCS#12 bundle (.p12/.pfx), not PEM.`, {
        remedy:
          `Extract the certificates and the key: openssl pkcs12 -in ${file} -nokeys -out ${stem(file)}-chain.pem ` +
          `and openssl pkcs12 -in ${file} -nocerts -out ${stem(file)}-key.pem (add -legacy for old RC2-encrypted files), ` +
          "or give it as a pkcs12 key store.",
      });
    case "pkcs7":
      return createFinding(
        "NOT_PEM_PKCS7",
        "error",
        `${name} is a PKCS#7 bundle (.p7b), not a list of PEM certificates.`,
        {
          remedy: `${decode}openssl pkcs7 -inform der -in ${input} -print_certs -out ${out}`,
        },
      );
    case "certificate":
      return createFinding(code, "error", `${name} holds a certificate as ${what}; PEM is required.`, {
        remedy: `${decode}openssl x509 -inform der -in ${input} -out ${out}`,
      });
    case "private-key":
      return createFinding(code, "error", `${name} holds a private key as ${what}; PEM is required.`, {
        remedy: `${decode}openssl pkey -inform der -in ${input} -out ${out}`,
      });
    case "encrypted-private-key":
      return createFinding(
        code,
        "error",
        `${name} holds an encrypted private key as ${what}; PEM is required.`,
        {
          remedy:
            `${decode}openssl pkcs8 -inform der -in ${input} -out ${out} (asks for the passphrase and writes the key ` +
            `unencrypted; keep the file private, or re-encrypt it with openssl pkcs8 -topk8 -v2 aes-256-cbc)`,
        },
      );
    case "public-key":
      return createFinding(code, "error", `${name} holds a public key as ${what}; PEM is required.`, {
        remedy: `${decode}openssl pkey -pubin -inform der -in ${input} -out ${out}`,
      });
    case "crl":
      return createFinding(code, "error", `${name} holds a CRL as ${what}; PEM is required.`, {
        remedy: `${decode}openssl crl -inform der -in ${input} -out ${out}`,
      });
    case "csr":
      return createFinding(
        code,
        "error",
        `${name} holds a certificate request as ${what}; PEM is required.`,
        {
          remedy: `${decode}openssl req -inform der -in ${input} -out ${out}`,
        },
      );
    case "unknown-der":
      return createFinding(
        code,
        "error",
        `${name} is ${what} of an unknown kind, not a certificate, key or CRL.`,
        {
          remedy: `Inspect it with openssl asn1parse -inform der -in ${input}`,
        },
      );
  }
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

function parseBlocks(text: string, source: string | undefined): ParsePemResult {
  const { name } = describeSource(source);
  const blocks: PemBlock[] = [];
  const findings: Finding[] = [];
  const begin = /-----BEGIN ([A-Z0-9 ]+)-----/g;
  let match: RegExpExecArray | null;
  while ((match = begin.exec(text)) !== null) {
    const label = match[1]!.trim();
    const startLine = lineOf(text, match.index);
    const bodyStart = match.index + match[0].length;
    const endMarker = `-----END ${label}-----`;
    const end = text.indexOf(endMarker, bodyStart);
    const nextBegin = text.indexOf("-----BEGIN ", bodyStart);
    if (end === -1 || (nextBegin !== -1 && nextBegin < end)) {
      const otherEnd = /-----END ([A-Z0-9 ]+)-----/.exec(text.slice(bodyStart));
      const message =
        otherEnd && (nextBegin === -1 || bodyStart + otherEnd.index < nextBegin)
          ? `${name}: the ${label} block at line ${startLine} ends with "-----END ${otherEnd[1]}-----" (line ${lineOf(text, bodyStart + otherEnd.index)}), not "${endMarker}".`
          : `${name}: the ${label} block at line ${startLine} has no "${endMarker}" line: the file is truncated or two files were pasted into one.`;
      findings.push(
        createFinding("PEM_MALFORMED", "error", message, {
          remedy: "Copy the whole block again from its source, from the BEGIN line to the END line.",
        }),
      );
      begin.lastIndex = nextBegin === -1 ? text.length : nextBegin;
      continue;
    }
    begin.lastIndex = end + endMarker.length;

    // Headers (RFC 1421) come first, then a blank line, then base64.
    const rawLines = text.slice(bodyStart, end).split("\n");
    const headers: Record<string, string> = {};
    let index = 0;
    if (rawLines[0]?.trim() === "") index = 1;
    if (rawLines[index]?.includes(":")) {
      for (; index < rawLines.length && rawLines[index]!.trim() !== ""; index++) {
        const header = rawLines[index]!;
        const colon = header.indexOf(":");
        if (colon > 0) headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
      }
    }
    let base64 = "";
    let badLine: number | undefined;
    for (let i = index; i < rawLines.length; i++) {
      const chunk = rawLines[i]!.replace(/\s+/g, "");
      if (!BASE64_LINE.test(chunk) || (base64.includes("=") && chunk !== "")) {
        badLine ??= startLine + i;
      }
      base64 += chunk;
    }
    const endLine = lineOf(text, end);
    if (badLine !== undefined || base64.length === 0 || base64.length % 4 === 1) {
      findings.push(
        createFinding(
          "PEM_MALFORMED",
          "error",
          base64.length === 0
            ? `${name}: the ${label} block at line ${startLine} is empty.`
            : `${name}: the ${label} block at line ${startLine} is garbled at line ${badLine ?? endLine}: not base64.`,
          {
            remedy: "Copy the block again from its source; a PEM body holds only A-Z, a-z, 0-9, +, / and =.",
          },
        ),
      );
      continue;
    }
    let der = Buffer.from(base64, "base64");
    const type = LABELS[label] ?? "unknown";
    const legacyEncrypted = /ENCRYPTED/i.test(headers["Proc-Type"] ?? "");
    if (type === "unknown") {
      findings.push(
        createFinding(
          "PEM_UNKNOWN_BLOCK",
          "info",
          `${name}: a "${label}" block at line ${startLine} is not used here.`,
        ),
      );
    } else if (!legacyEncrypted) {
      // A block that decodes as base64 but not as DER was cut short or edited.
      const length = firstValueLength(der);
      const complete = label === "TRUSTED CERTIFICATE" ? length !== undefined : readDer(der) !== undefined;
      if (!complete) {
        findings.push(
          createFinding(
            "PEM_MALFORMED",
            "error",
            `${name}: the ${label} block at lines ${startLine}-${endLine} does not decode: it is truncated or garbled.`,
            { remedy: "Copy the whole block again from its source; a line is missing or was changed." },
          ),
        );
        continue;
      }
      if (label === "TRUSTED CERTIFICATE") der = der.subarray(0, length);
    }
    const canonicalLabel =
      label === "TRUSTED CERTIFICATE" || label === "X509 CERTIFICATE" ? "CERTIFICATE" : label;
    blocks.push({
      type,
      label,
      der,
      pem: armor(canonicalLabel, headers, der),
      line: startLine,
      endLine,
      headers,
      encrypted: type === "encrypted-private-key" || legacyEncrypted,
    });
    if (type === "pkcs7") {
      const { file } = describeSource(source);
      findings.push(
        createFinding(
          "NOT_PEM_PKCS7",
          "error",
          `${name}: the PKCS7 block at line ${startLine} is a .p7b bundle, not PEM certificates.`,
          {
            remedy: `openssl pkcs7 -in ${file} -print_certs -out ${stem(file)}.pem`,
          },
        ),
      );
    }
  }
  if (blocks.length === 0 && findings.length === 0) {
    findings.push(
      createFinding(
        "PEM_MALFORMED",
        "error",
        `${name} has a "-----BEGIN" marker but no complete PEM block.`,
        {
          remedy: "Copy the whole block again from its source, from the BEGIN line to the END line.",
        },
      ),
    );
  }
  return { format: "pem", blocks, findings };
}

function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 512);
  let printable = 0;
  for (const byte of sample) {
    if (byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127) || byte >= 0xc2) printable++;
  }
  return sample.length > 0 && printable / sample.length > 0.95;
}

/**
 * Reads PEM the way the field writes it: every block with its position (certificates, keys, public keys, CRLs,
 * CSRs; unknown blocks reported, not dropped), CRLF, text before and between blocks, OpenSSL's "Bag Attributes",
 * PEM flattened into one line or with literal `\n` (as kept in environment variables). Input that is not PEM is
 * recognised and named with the exact conversion: DER, PKCS#12, PKCS#7, base64 without armour, empty or other
 * text. It never throws.
 *
 * @example
 * ```ts
 * const { blocks, findings } = parsePem(await readFile("ca.crt"), { source: "ca.crt" });
 * for (const f of findings) console.log(f.code, f.message, f.remedy);
 * const certificates = blocks.filter((b) => b.type === "certificate");
 * ```
 */
export function parsePem(input: string | Uint8Array, options: ParsePemOptions = {}): ParsePemResult {
  const { source } = options;
  const { name } = describeSource(source);
  let text: string;
  if (typeof input === "string") {
    text = input;
  } else {
    const bytes = input;
    const head = Buffer.from(bytes.subarray(0, 4096)).toString("latin1");
    if (!head.includes("-----BEGIN ") && !looksLikeText(bytes)) {
      if (bytes.length === 0) return notPem("empty", `${name} is empty.`);
      const root = readDer(bytes);
      if (root === undefined) {
        return notPem(
          "binary",
          `${name} is a binary file that is neither PEM nor DER: not a certificate, key or CRL.`,
        );
      }
      const derKind = classifyDer(bytes, root);
      const format = derKind === "pkcs12" ? "pkcs12" : derKind === "pkcs7" ? "pkcs7" : "der";
      return { format, derKind, blocks: [], findings: [derFinding(derKind, source, false)] };
    }
    text = Buffer.from(bytes).toString("utf8");
  }

  text = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  // PEM pasted into JSON or an environment variable often carries literal "\n".
  if (text.includes("-----BEGIN ") && !text.includes("\n") && text.includes("\\n"))
    text = text.replace(/\\n/g, "\n");
  if (text.includes("-----BEGIN ")) return parseBlocks(text, source);

  const compact = text.replace(/\s+/g, "");
  if (compact.length === 0) return notPem("empty", `${name} is empty.`);
  if (compact.length >= 32 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    const decoded = Buffer.from(compact, "base64");
    const root = readDer(decoded);
    if (root !== undefined) {
      const derKind = classifyDer(decoded, root);
      return { format: "base64", derKind, blocks: [], findings: [derFinding(derKind, source, true)] };
    }
  }
  return notPem(
    "text",
    `${name} contains no PEM block (no "-----BEGIN ...-----" line): it is not a certificate, key or CRL file.`,
  );
}

function notPem(format: InputFormat, message: string): ParsePemResult {
  return {
    format,
    blocks: [],
    findings: [
      createFinding("NOT_PEM", "error", message, {
        remedy: "Point to the PEM file that holds the certificate or key (it starts with -----BEGIN).",
      }),
    ],
  };
}
