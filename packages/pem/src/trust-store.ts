import {
  ParsedCertificate,
  certificateDer,
  type CertificateInfo,
  type CertificateInput,
} from "./certificate.js";
import { derChildren, derNode, derWellFormed, type DerNode } from "./der.js";
import { createFinding, type Finding } from "@proj/findings";
import { encodePem, parsePem } from "./parse-pem.js";

/** One trusted certificate: indexed at load, parsed in full only when asked. */
export interface TrustAnchor {
  readonly der: Buffer;
  /** Key for name lookups (RFC 5280 comparison: case and spaces folded). */
  readonly subjectKey: string;
  /** Subject key identifier, hex, when the certificate has one. */
  readonly subjectKeyId: string | undefined;
  readonly pem: string;
  /** The full inspection, computed on first call. */
  info(): CertificateInfo;
}

/**
 * One input of {@link loadTrustStore}: PEM text or bytes, or an object naming where it came from (`source`, used in
 * messages) and where it is configured (`path`, set on its findings).
 */
export type TrustStoreInput =
  | string
  | Uint8Array
  | { readonly content: string | Uint8Array; readonly source?: string; readonly path?: string };

/** An indexed trust store from {@link loadTrustStore}. */
export interface TrustStore {
  readonly size: number;
  readonly anchors: readonly TrustAnchor[];
  /** Anchors that may have issued `certificate`: by its authority key id, else by its issuer name. */
  issuersOf(certificate: CertificateInput): TrustAnchor[];
  /** Anchors with this subject key identifier (hex). */
  bySubjectKeyId(keyId: string): TrustAnchor[];
  /** The anchors as PEM strings, e.g. for `verifyChain({ trusted })` or a TLS `ca` option. */
  toPem(): string[];
}

const SKI_OID = Buffer.from([0x55, 0x1d, 0x0e]); // 2.5.29.14
const AKI_OID = Buffer.from([0x55, 0x1d, 0x23]); // 2.5.29.35
const CERTIFICATE_BLOCK =
  /-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----([\s\S]*?)-----END (?:TRUSTED |X509 )?CERTIFICATE-----/g;

const SEQUENCE = 0x30;
const OCTET_STRING = 0x04;

/** A name's lookup key, read straight from the DER: OIDs as their bytes, values folded (RFC 5280 comparison). */
function nameKey(der: Buffer, name: DerNode | undefined): string {
  if (!name) return "";
  return (derChildren(der, name) ?? [])
    .map((rdn) =>
      (derChildren(der, rdn) ?? [])
        .map((atv) => {
          const [type, value] = derChildren(der, atv) ?? [];
          const text = value ? der.toString("latin1", value.contentStart, value.end) : "";
          const oid = type ? der.toString("latin1", type.contentStart, type.end) : "";
          return `${oid}=${text.trim().replace(/\s+/g, " ").toLowerCase()}`;
        })
        .sort()
        .join("+"),
    )
    .join(",");
}

interface TbsParts {
  issuer: DerNode | undefined;
  subject: DerNode | undefined;
  extensions: DerNode[];
}

/** The issuer, subject and extensions of a certificate; `undefined` when it is not one complete DER value. */
function tbsParts(der: Buffer, allBytes: boolean): TbsParts | undefined {
  const root = derNode(der);
  if (!root || root.tag !== SEQUENCE || (allBytes && root.end !== der.length)) return undefined;
  if (!derWellFormed(der, root)) return undefined;
  // The shape of a certificate, not merely of DER: tbsCertificate, signatureAlgorithm, signature (BIT STRING), and
  // in the TBS serial, signature, issuer, validity, subject and key. A PKCS#7 in certificate armour is no anchor.
  const [tbsNode, algorithm, signature, ...rest] = derChildren(der, root) ?? [];
  if (tbsNode?.tag !== SEQUENCE || algorithm?.tag !== SEQUENCE || signature?.tag !== 0x03 || rest.length > 0)
    return undefined;
  const tbs = derChildren(der, tbsNode) ?? [];
  const offset = tbs[0]?.tag === 0xa0 ? 1 : 0;
  const expected = [0x02, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE];
  if (expected.some((tag, k) => tbs[offset + k]?.tag !== tag)) return undefined;
  const wrapper = tbs.find((n) => n.tag === 0xa3);
  const list = wrapper ? derChildren(der, wrapper)?.[0] : undefined;
  return {
    issuer: tbs[offset + 2],
    subject: tbs[offset + 4],
    extensions: list ? (derChildren(der, list) ?? []) : [],
  };
}

/** The key id inside an SKI (OCTET STRING) or AKI (SEQUENCE with [0] keyIdentifier) extension. */
function keyIdOf(der: Buffer, extensions: DerNode[], oid: Buffer): string | undefined {
  for (const extension of extensions) {
    const parts = derChildren(der, extension) ?? [];
    const id = parts[0];
    if (!id || !der.subarray(id.contentStart, id.end).equals(oid)) continue;
    const holder = parts.at(-1);
    if (holder?.tag !== OCTET_STRING) return undefined;
    const inner = derNode(der, holder.contentStart, holder.end);
    if (!inner) return undefined;
    const key =
      oid === SKI_OID
        ? inner.tag === OCTET_STRING
          ? inner
          : undefined
        : (derChildren(der, inner) ?? []).find((n) => n.tag === 0x80);
    return key ? der.toString("hex", key.contentStart, key.end) : undefined;
  }
  return undefined;
}

function countOf(text: string, needle: string): number {
  let count = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) count++;
  return count;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

class Anchor implements TrustAnchor {
  readonly subjectKey: string;
  readonly subjectKeyId: string | undefined;
  #parsed: ParsedCertificate | undefined;
  constructor(
    readonly der: Buffer,
    { subject, extensions }: TbsParts,
  ) {
    this.subjectKey = nameKey(der, subject);
    this.subjectKeyId = keyIdOf(der, extensions, SKI_OID);
  }
  get pem(): string {
    return encodePem(this.der);
  }
  info(): CertificateInfo {
    this.#parsed ??= new ParsedCertificate(this.der);
    return this.#parsed.info();
  }
}

/**
 * Loads and indexes a trust store (by subject and key id, ready for chain building) the fast way: each
 * certificate is base64-decoded and only its names and key ids are located in the DER, over ten times faster than
 * parsing it with node-forge's PKI layer (which cannot read EC certificates at all) or Node's `X509Certificate`. Full
 * parsing happens only for the certificates a chain actually uses. Problems become findings: a file that is not
 * PEM, a broken block, a private key where only certificates belong, an empty store.
 *
 * @example
 * ```ts
 * const { store, findings } = loadTrustStore([await readFile("ca-bundle.pem", "utf8")], { source: "ca-bundle.pem" });
 * const issuers = store.issuersOf(brokerCertificatePem);
 * ```
 */
export function loadTrustStore(
  input: TrustStoreInput | readonly TrustStoreInput[],
  options: { source?: string } = {},
): { store: TrustStore; findings: Finding[] } {
  const inputs =
    typeof input === "string" || input instanceof Uint8Array || !Array.isArray(input)
      ? [input as TrustStoreInput]
      : input;
  const anchors: TrustAnchor[] = [];
  const findings: Finding[] = [];
  // Duplicates by a short key (size and last bytes of the signature), confirmed byte for byte.
  const seen = new Map<string, Buffer[]>();

  for (const entry of inputs) {
    const item = typeof entry === "string" || entry instanceof Uint8Array ? { content: entry } : entry;
    const source = item.source ?? options.source ?? "the trust store";
    const at = item.path === undefined ? {} : { path: item.path };
    const content = item.content;
    const text = typeof content === "string" ? content : Buffer.from(content).toString("latin1");
    if (!text.includes("-----BEGIN ")) {
      findings.push(...parsePem(content, { source }).findings.map((f) => ({ ...f, ...at })));
      continue;
    }
    let found = 0;
    for (const match of text.matchAll(CERTIFICATE_BLOCK)) {
      found++;
      const body = match[1]!;
      // RFC 1421 headers ("Proc-Type: ...") are rare: only look for them when a colon is there.
      const der = Buffer.from(body.includes(":") ? body.replace(/^[A-Za-z-]+:.*$/gm, "") : body, "base64");
      const parts = tbsParts(der, !match[0].startsWith("-----BEGIN TRUSTED"));
      if (!parts) {
        findings.push(
          createFinding(
            "PEM_MALFORMED",
            "error",
            `${source}: the certificate at line ${lineOf(text, match.index)} does not decode: it is truncated or garbled.`,
            { ...at, remedy: "Copy it again from its source, or remove it." },
          ),
        );
        continue;
      }
      const key = `${der.length}:${der.toString("latin1", der.length - 16)}`;
      const same = seen.get(key);
      if (same?.some((other) => other.equals(der))) continue;
      if (same) same.push(der);
      else seen.set(key, [der]);
      anchors.push(new Anchor(der, parts));
    }
    if (countOf(text, "-----BEGIN ") > found) {
      const others = parsePem(text, { source }).blocks.filter((b) => b.type !== "certificate");
      for (const block of others) {
        const secret = block.type.includes("private-key");
        findings.push(
          createFinding(
            "PEM_UNEXPECTED_BLOCK",
            secret ? "error" : "warning",
            `${source}: a ${block.label} block at line ${block.line} does not belong in a trust store${secret ? " (and a private key must not be shared with it)" : ""}.`,
            { ...at, remedy: "Keep only CA certificates (-----BEGIN CERTIFICATE-----) in the trust store." },
          ),
        );
      }
    }
  }
  if (anchors.length === 0 && !findings.some((f) => f.severity === "error")) {
    findings.push(
      createFinding(
        "TRUST_STORE_EMPTY",
        "error",
        `${options.source ?? "the trust store"} holds no certificate.`,
        {
          remedy: "Add the CA certificate (PEM) that issued the broker's certificate.",
        },
      ),
    );
  }

  const bySubject = new Map<string, TrustAnchor[]>();
  const byKeyId = new Map<string, TrustAnchor[]>();
  const add = (index: Map<string, TrustAnchor[]>, key: string, a: TrustAnchor) => {
    const list = index.get(key);
    if (list) list.push(a);
    else index.set(key, [a]);
  };
  for (const a of anchors) {
    add(bySubject, a.subjectKey, a);
    if (a.subjectKeyId) add(byKeyId, a.subjectKeyId, a);
  }
  const store: TrustStore = {
    size: anchors.length,
    anchors,
    issuersOf(certificate) {
      const der = certificateDer(certificate);
      const parts = tbsParts(der, true);
      if (!parts) return [];
      const keyId = keyIdOf(der, parts.extensions, AKI_OID);
      const byId = keyId ? (byKeyId.get(keyId) ?? []) : [];
      return byId.length > 0 ? byId : (bySubject.get(nameKey(der, parts.issuer)) ?? []);
    },
    bySubjectKeyId: (keyId) => byKeyId.get(keyId.toLowerCase().replace(/:/g, "")) ?? [],
    toPem: () => anchors.map((a) => a.pem),
  };
  return { store, findings };
}
