import { ATTRIBUTE_NAMES } from "./certificate.js";
import { derChildren, derOid, readDer, type DerNode } from "./der.js";

/** The few fields an inventory needs, read straight from the DER (about ten times faster than a full parse). */
export interface CertificateHeader {
  /** Upper-case hex, without leading zero bytes. */
  readonly serialNumber: string;
  /** One line, `CN=..., O=...`, as {@link inspectCertificate} writes it. */
  readonly subject: string;
  readonly issuer: string;
  /** The first common name of the subject and of the issuer, if any. */
  readonly subjectCN: string | undefined;
  readonly issuerCN: string | undefined;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const STRING_TAGS = new Set([0x0c, 0x13, 0x16, 0x14, 0x1a, 0x1c, 0x1e]);

function text(bytes: Uint8Array, node: DerNode): string {
  const content = Buffer.from(
    bytes.buffer,
    bytes.byteOffset + node.contentStart,
    node.end - node.contentStart,
  );
  if (node.tag === 0x1e) {
    // BMPString: UTF-16 big-endian.
    const swapped = Buffer.from(content);
    return swapped.swap16().toString("utf16le");
  }
  return node.tag === 0x0c ? content.toString("utf8") : content.toString("latin1");
}

function name(bytes: Uint8Array, node: DerNode): { oneLine: string; cn: string | undefined } {
  const parts: string[] = [];
  let cn: string | undefined;
  for (const rdn of derChildren(bytes, node) ?? []) {
    for (const atv of derChildren(bytes, rdn) ?? []) {
      const [type, value] = derChildren(bytes, atv) ?? [];
      const oid = derOid(bytes, type);
      if (!oid || !value) continue;
      const shown = STRING_TAGS.has(value.tag) ? text(bytes, value) : "";
      if (oid === "2.5.4.3") cn ??= shown;
      parts.push(`${ATTRIBUTE_NAMES[oid] ?? oid}=${shown}`);
    }
  }
  return { oneLine: parts.join(", "), cn };
}

function time(bytes: Uint8Array, node: DerNode | undefined): Date | undefined {
  if (!node || (node.tag !== 0x17 && node.tag !== 0x18)) return undefined;
  const value = Buffer.from(
    bytes.buffer,
    bytes.byteOffset + node.contentStart,
    node.end - node.contentStart,
  ).toString("latin1");
  const match = (
    node.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/
  ).exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // RFC 5280: a UTCTime year below 50 is 20YY, else 19YY.
  const year = node.tag === 0x17 ? (y < 50 ? 2000 + y : 1900 + y) : y;
  return new Date(Date.UTC(year, mo - 1, d, h, mi, s));
}

/**
 * The serial, names and validity of a DER certificate, without building the whole certificate: what an inventory
 * of thousands of certificates needs (`mqtt-tls audit`). `undefined` when the bytes are not a certificate.
 *
 * @example
 * ```ts
 * import { X509Certificate } from "node:crypto";
 * const header = readCertificateHeader(new X509Certificate(await readFile("plc.crt")).raw);
 * console.log(header?.subjectCN, header?.notAfter);
 * ```
 */
export function readCertificateHeader(der: Uint8Array): CertificateHeader | undefined {
  const root = readDer(der);
  const [tbs] = root && root.tag === 0x30 ? (derChildren(der, root) ?? []) : [];
  let fields = tbs && tbs.tag === 0x30 ? (derChildren(der, tbs) ?? []) : [];
  if (fields[0]?.tag === 0xa0) fields = fields.slice(1); // the [0] version of a v2/v3 certificate
  const [serial, , issuer, validity, subject] = fields;
  if (!serial || serial.tag !== 0x02 || !issuer || !subject || !validity) return undefined;
  const [start, end] = derChildren(der, validity) ?? [];
  const notBefore = time(der, start);
  const notAfter = time(der, end);
  if (!notBefore || !notAfter) return undefined;
  const issuerName = name(der, issuer);
  const subjectName = name(der, subject);
  return {
    serialNumber: Buffer.from(der.subarray(serial.contentStart, serial.end))
      .toString("hex")
      .toUpperCase()
      .replace(/^(00)+(?=..)/, ""),
    subject: subjectName.oneLine,
    issuer: issuerName.oneLine,
    subjectCN: subjectName.cn,
    issuerCN: issuerName.cn,
    notBefore,
    notAfter,
  };
}
