import forge from "node-forge";
import {
  ParsedCertificate,
  certificateDer,
  type CertificateInfo,
  type CertificateInput,
} from "./certificate.js";
import { readAsn1 } from "./der.js";
import { createFinding, type Finding } from "@proj/findings";
import { parsePem } from "./parse-pem.js";

type Asn1 = forge.asn1.Asn1;

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

const SKI_OID = forge.asn1.oidToDer("2.5.29.14").getBytes();
const AKI_OID = forge.asn1.oidToDer("2.5.29.35").getBytes();
const CERTIFICATE_BLOCK =
  /-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----([\s\S]*?)-----END (?:TRUSTED |X509 )?CERTIFICATE-----/g;

function children(node: Asn1 | undefined): Asn1[] {
  return node && Array.isArray(node.value) ? node.value : [];
}

/** A name's lookup key from forge's tree, without decoding it into objects: OIDs as DER, values folded. */
function nameKey(name: Asn1 | undefined): string {
  return children(name)
    .map((rdn) =>
      children(rdn)
        .map((atv) => {
          const [type, value] = children(atv);
          const text = typeof value?.value === "string" ? value.value : "";
          return `${typeof type?.value === "string" ? type.value : ""}=${text.trim().replace(/\s+/g, " ").toLowerCase()}`;
        })
        .sort()
        .join("+"),
    )
    .join(",");
}

interface TbsParts {
  issuer: Asn1 | undefined;
  subject: Asn1 | undefined;
  extensions: Asn1[];
}

function tbsParts(root: Asn1): TbsParts {
  const tbs = children(children(root)[0]);
  const offset = tbs[0]?.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  const extensions = tbs.find((n) => n.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && n.type === 3);
  return { issuer: tbs[offset + 2], subject: tbs[offset + 4], extensions: children(children(extensions)[0]) };
}

/** The key id inside an SKI (OCTET STRING) or AKI (SEQUENCE with [0] keyIdentifier) extension. */
function keyIdOf(extensions: Asn1[], oid: string): string | undefined {
  const extension = extensions.find((e) => children(e)[0]?.value === oid);
  const value = children(extension).at(-1)?.value;
  if (typeof value !== "string") return undefined;
  const inner = readAsn1(Buffer.from(value, "binary"));
  if (!inner) return undefined;
  const id =
    oid === SKI_OID
      ? inner.value
      : children(inner).find((n) => n.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && n.type === 0)?.value;
  return typeof id === "string" ? Buffer.from(id, "binary").toString("hex") : undefined;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

function anchor(der: Buffer, root: Asn1): TrustAnchor {
  const { subject, extensions } = tbsParts(root);
  let parsed: ParsedCertificate | undefined;
  return {
    der,
    subjectKey: nameKey(subject),
    subjectKeyId: keyIdOf(extensions, SKI_OID),
    get pem() {
      const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
      return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
    },
    info() {
      parsed ??= new ParsedCertificate(der);
      return parsed.info();
    },
  };
}

/**
 * Loads and indexes a trust store (by subject and key id, ready for chain building) the fast way: each
 * certificate is base64-decoded and read with forge's ASN.1 reader only, about 6× faster than parsing each one
 * with node-forge's PKI layer (which cannot read EC certificates at all) or Node's `X509Certificate`. Full
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
  const seen = new Set<string>();

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
      const der = Buffer.from(match[1]!.replace(/^[A-Za-z-]+:.*$/gm, ""), "base64");
      const root = readAsn1(der, { allBytes: !match[0].startsWith("-----BEGIN TRUSTED") });
      if (!root) {
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
      const fingerprint = der.toString("base64");
      if (seen.has(fingerprint)) continue;
      seen.add(fingerprint);
      anchors.push(anchor(der, root));
    }
    const blocks = text.match(/-----BEGIN [A-Z0-9 ]+-----/g) ?? [];
    if (blocks.length > found) {
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
  for (const a of anchors) {
    bySubject.set(a.subjectKey, [...(bySubject.get(a.subjectKey) ?? []), a]);
    if (a.subjectKeyId) byKeyId.set(a.subjectKeyId, [...(byKeyId.get(a.subjectKeyId) ?? []), a]);
  }
  const store: TrustStore = {
    size: anchors.length,
    anchors,
    issuersOf(certificate) {
      const der = certificateDer(certificate);
      const root = readAsn1(der);
      if (!root) return [];
      const { issuer, extensions } = tbsParts(root);
      const keyId = keyIdOf(extensions, AKI_OID);
      const byId = keyId ? (byKeyId.get(keyId) ?? []) : [];
      return byId.length > 0 ? byId : (bySubject.get(nameKey(issuer)) ?? []);
    },
    bySubjectKeyId: (keyId) => byKeyId.get(keyId.toLowerCase().replace(/:/g, "")) ?? [],
    toPem: () => anchors.map((a) => a.pem),
  };
  return { store, findings };
}
