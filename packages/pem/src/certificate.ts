import { AsnConvert, AsnParser } from "@peculiar/asn1-schema";
import { RsaSaPssParams } from "@peculiar/asn1-rsa";
import {
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CRLDistributionPoints,
  Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  NameConstraints,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  type GeneralName,
  type Name,
} from "@peculiar/asn1-x509";
import { X509Certificate, createHash } from "node:crypto";
import { PemError } from "./errors.js";
import { encodePem, parsePem } from "./parse-pem.js";

/** A distinguished name in parts and in one line (`CN=broker, O=Plant 4`). */
export interface DistinguishedName {
  readonly oneLine: string;
  readonly parts: readonly { readonly type: string; readonly oid: string; readonly value: string }[];
}

/** The algorithm of a certificate's public key; `unknown` for one Node's crypto does not name. */
export type PublicKeyType = "rsa" | "rsa-pss" | "ec" | "ed25519" | "ed448" | "dsa" | "unknown";
/** The hash of a signature algorithm, by its usual name. */
export type HashName = "MD2" | "MD5" | "SHA-1" | "SHA-224" | "SHA-256" | "SHA-384" | "SHA-512";

/** Everything a person checks in a certificate, from {@link inspectCertificate}. */
export interface CertificateInfo {
  readonly subject: DistinguishedName;
  readonly issuer: DistinguishedName;
  /** Upper-case hex, as OpenSSL prints it. */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subjectAltNames: {
    readonly dns: readonly string[];
    readonly ip: readonly string[];
    readonly uri: readonly string[];
    readonly email: readonly string[];
  };
  readonly publicKey: {
    readonly type: PublicKeyType;
    readonly bits: number | undefined;
    readonly curve: string | undefined;
  };
  readonly signature: {
    readonly algorithm: string;
    readonly oid: string;
    readonly hash: HashName | undefined;
  };
  readonly basicConstraints:
    { readonly ca: boolean; readonly pathLength: number | undefined; readonly critical: boolean } | undefined;
  readonly keyUsage: readonly string[] | undefined;
  /** Names (`serverAuth`, `clientAuth`, ...) or dotted OIDs for the others. */
  readonly extKeyUsage: readonly string[] | undefined;
  /** Hex, lower-case, no separators. */
  readonly subjectKeyId: string | undefined;
  readonly authorityKeyId: string | undefined;
  readonly crlDistributionPoints: readonly string[];
  readonly authorityInfoAccess: { readonly ocsp: readonly string[]; readonly caIssuers: readonly string[] };
  readonly version: 1 | 2 | 3;
  /** Issuer and subject are the same name. */
  readonly selfIssued: boolean;
  /** Self-issued, and its signature verifies with its own key. */
  readonly selfSigned: boolean;
  readonly fingerprints: { readonly sha256: string; readonly sha1: string };
  /** `sha256/<base64 SHA-256 of the DER SubjectPublicKeyInfo>`, the form `pinnedCertificates` takes. */
  readonly spkiPin: string;
  readonly derSize: number;
  readonly pem: string;
}

export const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "street",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.5": "serialNumber",
  "2.5.4.4": "SN",
  "2.5.4.42": "GN",
  "2.5.4.12": "title",
  "2.5.4.17": "postalCode",
  "2.5.4.97": "organizationIdentifier",
  "1.2.840.113549.1.9.1": "emailAddress",
  "0.9.2342.19200300.100.1.25": "DC",
  "0.9.2342.19200300.100.1.1": "UID",
};

const SIGNATURES: Readonly<Record<string, { name: string; hash: HashName | undefined }>> = {
  "1.2.840.113549.1.1.2": { name: "md2WithRSAEncryption", hash: "MD2" },
  "1.2.840.113549.1.1.4": { name: "md5WithRSAEncryption", hash: "MD5" },
  "1.2.840.113549.1.1.5": { name: "sha1WithRSAEncryption", hash: "SHA-1" },
  "1.2.840.113549.1.1.14": { name: "sha224WithRSAEncryption", hash: "SHA-224" },
  "1.2.840.113549.1.1.11": { name: "sha256WithRSAEncryption", hash: "SHA-256" },
  "1.2.840.113549.1.1.12": { name: "sha384WithRSAEncryption", hash: "SHA-384" },
  "1.2.840.113549.1.1.13": { name: "sha512WithRSAEncryption", hash: "SHA-512" },
  "1.2.840.113549.1.1.10": { name: "rsassaPss", hash: undefined },
  "1.2.840.10045.4.1": { name: "ecdsa-with-SHA1", hash: "SHA-1" },
  "1.2.840.10045.4.3.1": { name: "ecdsa-with-SHA224", hash: "SHA-224" },
  "1.2.840.10045.4.3.2": { name: "ecdsa-with-SHA256", hash: "SHA-256" },
  "1.2.840.10045.4.3.3": { name: "ecdsa-with-SHA384", hash: "SHA-384" },
  "1.2.840.10045.4.3.4": { name: "ecdsa-with-SHA512", hash: "SHA-512" },
  "1.3.101.112": { name: "Ed25519", hash: undefined },
  "1.3.101.113": { name: "Ed448", hash: undefined },
  "1.2.840.10040.4.3": { name: "dsa-with-SHA1", hash: "SHA-1" },
  "2.16.840.1.101.3.4.3.1": { name: "dsa-with-SHA224", hash: "SHA-224" },
  "2.16.840.1.101.3.4.3.2": { name: "dsa-with-SHA256", hash: "SHA-256" },
};

const HASHES: Readonly<Record<string, HashName>> = {
  "1.3.14.3.2.26": "SHA-1",
  "2.16.840.1.101.3.4.2.4": "SHA-224",
  "2.16.840.1.101.3.4.2.1": "SHA-256",
  "2.16.840.1.101.3.4.2.2": "SHA-384",
  "2.16.840.1.101.3.4.2.3": "SHA-512",
};

const EKU_NAMES: Readonly<Record<string, string>> = {
  "1.3.6.1.5.5.7.3.1": "serverAuth",
  "1.3.6.1.5.5.7.3.2": "clientAuth",
  "1.3.6.1.5.5.7.3.3": "codeSigning",
  "1.3.6.1.5.5.7.3.4": "emailProtection",
  "1.3.6.1.5.5.7.3.8": "timeStamping",
  "1.3.6.1.5.5.7.3.9": "OCSPSigning",
  "2.5.29.37.0": "anyExtendedKeyUsage",
};

const KEY_USAGE_NAMES = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
] as const;

const CURVE_BITS: Readonly<Record<string, number>> = {
  prime192v1: 192,
  secp224r1: 224,
  prime256v1: 256,
  secp256k1: 256,
  secp384r1: 384,
  secp521r1: 521,
  brainpoolP256r1: 256,
  brainpoolP384r1: 384,
  brainpoolP512r1: 512,
};

export const OID = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  issuerAltName: "2.5.29.18",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  nameConstraints: "2.5.29.30",
  crlDistributionPoints: "2.5.29.31",
  certificatePolicies: "2.5.29.32",
  policyMappings: "2.5.29.33",
  policyConstraints: "2.5.29.36",
  inhibitAnyPolicy: "2.5.29.54",
  freshestCrl: "2.5.29.46",
  authorityInfoAccess: "1.3.6.1.5.5.7.1.1",
  subjectInfoAccess: "1.3.6.1.5.5.7.1.11",
  tlsFeature: "1.3.6.1.5.5.7.1.24",
  sctList: "1.3.6.1.4.1.11129.2.4.2",
  ctPoison: "1.3.6.1.4.1.11129.2.4.3",
} as const;

export interface RawExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: ArrayBuffer;
}

function toHex(buffer: ArrayBuffer | Uint8Array): string {
  return Buffer.from(buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer)).toString("hex");
}

/** A name in parts and in the one-line form. */
export function describeName(name: Name): DistinguishedName {
  const parts: { type: string; oid: string; value: string }[] = [];
  for (const rdn of name) {
    for (const atv of rdn) {
      let value: string;
      try {
        value = atv.value.toString();
      } catch {
        value = "";
      }
      parts.push({ type: ATTRIBUTE_NAMES[atv.type] ?? atv.type, oid: atv.type, value });
    }
  }
  return { parts, oneLine: parts.map((p) => `${p.type}=${p.value}`).join(", ") };
}

/** A name in a form where equal names (per RFC 5280's case-insensitive, whitespace-folding rules) are equal. */
export function canonicalName(name: Name): string {
  return Array.from(name, (rdn) =>
    Array.from(rdn, (atv) => {
      let value: string;
      try {
        value = atv.value.toString();
      } catch {
        try {
          value = toHex(AsnConvert.serialize(atv.value));
        } catch {
          value = "#unreadable";
        }
      }
      return `${atv.type}=${value.trim().replace(/\s+/g, " ").toLowerCase()}`;
    })
      .sort()
      .join("+"),
  ).join(",");
}

/**
 * One certificate read once: Node's `X509Certificate` for what it exposes (signatures, fingerprints, keys), the
 * RFC 5280 structure from `@peculiar/asn1-x509` for the rest. Extensions are decoded on first use.
 */
export class ParsedCertificate {
  readonly der: Buffer;
  readonly node: X509Certificate;
  readonly asn: Certificate;
  readonly subjectName: DistinguishedName;
  readonly issuerName: DistinguishedName;
  readonly subjectKey: string;
  readonly issuerKey: string;
  readonly extensions: readonly RawExtension[];
  /** Extensions that did not decode, by OID. */
  readonly malformedExtensions = new Set<string>();
  #decoded = new Map<string, unknown>();
  #info: CertificateInfo | undefined;

  constructor(der: Buffer) {
    this.der = der;
    try {
      ({ node: this.node, asn: this.asn } = decodeDer(der));
    } catch (cause) {
      throw new PemError(
        "PEM_MALFORMED",
        "the certificate does not decode: it is truncated or not a certificate",
        {
          cause,
          remedy: "Copy the certificate again from its source.",
        },
      );
    }
    const tbs = this.asn.tbsCertificate;
    this.subjectName = describeName(tbs.subject);
    this.issuerName = describeName(tbs.issuer);
    this.subjectKey = canonicalName(tbs.subject);
    this.issuerKey = canonicalName(tbs.issuer);
    this.extensions = (tbs.extensions ?? []).map((e) => ({
      oid: e.extnID,
      critical: e.critical,
      value: e.extnValue.buffer,
    }));
  }

  extension(oid: string): RawExtension | undefined {
    return this.extensions.find((e) => e.oid === oid);
  }

  /** The decoded value of extension `oid`, `undefined` when absent; a malformed one is recorded, not thrown. */
  decode<T>(oid: string, type: new () => T): T | undefined {
    if (this.#decoded.has(oid)) return this.#decoded.get(oid) as T | undefined;
    const raw = this.extension(oid);
    let value: T | undefined;
    if (raw) {
      try {
        value = AsnParser.parse(raw.value, type);
      } catch {
        this.malformedExtensions.add(oid);
      }
    }
    this.#decoded.set(oid, value);
    return value;
  }

  get basicConstraints(): BasicConstraints | undefined {
    return this.decode(OID.basicConstraints, BasicConstraints);
  }
  get isCa(): boolean {
    return this.basicConstraints?.cA === true;
  }
  /** Key usage bits by their RFC 5280 names, in bit order. */
  get keyUsage(): string[] | undefined {
    const usage = this.decode(OID.keyUsage, KeyUsage);
    if (!usage) return undefined;
    const bits = usage.toNumber();
    return KEY_USAGE_NAMES.filter((_, bit) => (bits & (1 << bit)) !== 0);
  }
  get extKeyUsage(): string[] | undefined {
    const eku = this.decode(OID.extKeyUsage, ExtendedKeyUsage);
    return eku ? Array.from(eku, (oid) => EKU_NAMES[oid] ?? oid) : undefined;
  }
  get subjectAltNames(): GeneralName[] | undefined {
    const san = this.decode(OID.subjectAltName, SubjectAlternativeName);
    return san ? Array.from(san) : undefined;
  }
  get nameConstraints(): NameConstraints | undefined {
    return this.decode(OID.nameConstraints, NameConstraints);
  }
  get subjectKeyId(): string | undefined {
    const ski = this.decode(OID.subjectKeyId, SubjectKeyIdentifier);
    return ski ? toHex(ski.buffer) : undefined;
  }
  get authorityKeyIdentifier(): AuthorityKeyIdentifier | undefined {
    return this.decode(OID.authorityKeyId, AuthorityKeyIdentifier);
  }
  get authorityKeyId(): string | undefined {
    const id = this.authorityKeyIdentifier?.keyIdentifier;
    return id ? toHex(id.buffer) : undefined;
  }
  get selfIssued(): boolean {
    return this.subjectKey === this.issuerKey;
  }
  get serialBytes(): Buffer {
    return Buffer.from(this.asn.tbsCertificate.serialNumber);
  }
  get version(): 1 | 2 | 3 {
    return (this.asn.tbsCertificate.version + 1) as 1 | 2 | 3;
  }
  get notBefore(): Date {
    return this.asn.tbsCertificate.validity.notBefore.getTime();
  }
  get notAfter(): Date {
    return this.asn.tbsCertificate.validity.notAfter.getTime();
  }

  /**
   * Decodes every extension this module reads, so that malformed ones are recorded in `malformedExtensions`
   * (name constraints are read separately, with the reason they are invalid).
   */
  decodeKnownExtensions(): ReadonlySet<string> {
    this.decode(OID.basicConstraints, BasicConstraints);
    this.decode(OID.keyUsage, KeyUsage);
    this.decode(OID.extKeyUsage, ExtendedKeyUsage);
    this.decode(OID.subjectAltName, SubjectAlternativeName);
    this.decode(OID.subjectKeyId, SubjectKeyIdentifier);
    this.decode(OID.authorityKeyId, AuthorityKeyIdentifier);
    this.decode(OID.authorityInfoAccess, AuthorityInfoAccessSyntax);
    this.decode(OID.crlDistributionPoints, CRLDistributionPoints);
    return this.malformedExtensions;
  }

  /** Whether `issuer`'s key verifies this certificate's signature (never throws). */
  signedBy(issuer: ParsedCertificate): boolean {
    try {
      return this.node.verify(issuer.node.publicKey);
    } catch {
      return false;
    }
  }

  get publicKey(): CertificateInfo["publicKey"] {
    try {
      const key = this.node.publicKey;
      const details = key.asymmetricKeyDetails ?? {};
      const type = (key.asymmetricKeyType ?? "unknown") as string;
      switch (type) {
        case "rsa":
        case "rsa-pss":
          return { type, bits: details.modulusLength, curve: undefined };
        case "ec":
          return { type: "ec", bits: CURVE_BITS[details.namedCurve ?? ""], curve: details.namedCurve };
        case "ed25519":
          return { type: "ed25519", bits: 256, curve: undefined };
        case "ed448":
          return { type: "ed448", bits: 456, curve: undefined };
        case "dsa":
          return { type: "dsa", bits: details.modulusLength, curve: undefined };
        default:
          return { type: "unknown", bits: undefined, curve: undefined };
      }
    } catch {
      const oid = this.asn.tbsCertificate.subjectPublicKeyInfo.algorithm.algorithm;
      return { type: oid === "1.2.840.10040.4.1" ? "dsa" : "unknown", bits: undefined, curve: undefined };
    }
  }

  get signature(): CertificateInfo["signature"] {
    const { algorithm, parameters } = this.asn.signatureAlgorithm;
    const known = SIGNATURES[algorithm];
    let hash = known?.hash;
    if (algorithm === "1.2.840.113549.1.1.10") {
      try {
        hash = parameters
          ? HASHES[AsnParser.parse(parameters, RsaSaPssParams).hashAlgorithm.algorithm]
          : "SHA-1";
      } catch {
        hash = undefined;
      }
    }
    return { algorithm: known?.name ?? algorithm, oid: algorithm, hash };
  }

  get spkiPin(): string {
    const spki = Buffer.from(AsnConvert.serialize(this.asn.tbsCertificate.subjectPublicKeyInfo));
    return `sha256/${createHash("sha256").update(spki).digest("base64")}`;
  }

  get pem(): string {
    return encodePem(this.der);
  }

  /** The certificate in the shape of {@link CertificateInfo}; a field that does not decode is a coded PemError. */
  info(): CertificateInfo {
    if (this.#info) return this.#info;
    try {
      this.#info = this.#describe();
    } catch (cause) {
      // Node accepted the certificate, but a field does not decode (a mangled name, key or extension).
      throw new PemError("PEM_MALFORMED", "the certificate has fields that do not decode", {
        cause,
        remedy: "Copy the certificate again from its source.",
      });
    }
    return this.#info;
  }

  #describe(): CertificateInfo {
    const names = this.subjectAltNames ?? [];
    const pick = (key: keyof GeneralName) =>
      names.flatMap((n) => (typeof n[key] === "string" ? [n[key]] : []));
    const bc = this.basicConstraints;
    const aia = this.decode(OID.authorityInfoAccess, AuthorityInfoAccessSyntax);
    const access = (method: string) =>
      Array.from(aia ?? [])
        .filter((a) => a.accessMethod === method && a.accessLocation.uniformResourceIdentifier)
        .map((a) => a.accessLocation.uniformResourceIdentifier!);
    const crlDp = this.decode(OID.crlDistributionPoints, CRLDistributionPoints);
    let selfSigned = false;
    if (this.selfIssued) selfSigned = this.signedBy(this);
    return {
      subject: this.subjectName,
      issuer: this.issuerName,
      serialNumber: this.serialBytes
        .toString("hex")
        .toUpperCase()
        .replace(/^(00)+(?=..)/, ""),
      notBefore: this.notBefore,
      notAfter: this.notAfter,
      subjectAltNames: {
        dns: pick("dNSName"),
        ip: pick("iPAddress"),
        uri: pick("uniformResourceIdentifier"),
        email: pick("rfc822Name"),
      },
      publicKey: this.publicKey,
      signature: this.signature,
      basicConstraints: bc
        ? {
            ca: bc.cA,
            pathLength: bc.pathLenConstraint,
            critical: this.extension(OID.basicConstraints)!.critical,
          }
        : undefined,
      keyUsage: this.keyUsage,
      extKeyUsage: this.extKeyUsage,
      subjectKeyId: this.subjectKeyId,
      authorityKeyId: this.authorityKeyId,
      crlDistributionPoints: Array.from(crlDp ?? []).flatMap((dp) =>
        (dp.distributionPoint?.fullName ?? []).flatMap((n) =>
          n.uniformResourceIdentifier ? [n.uniformResourceIdentifier] : [],
        ),
      ),
      authorityInfoAccess: { ocsp: access("1.3.6.1.5.5.7.48.1"), caIssuers: access("1.3.6.1.5.5.7.48.2") },
      version: this.version,
      selfIssued: this.selfIssued,
      selfSigned,
      fingerprints: { sha256: this.node.fingerprint256, sha1: this.node.fingerprint },
      spkiPin: this.spkiPin,
      derSize: this.der.length,
      pem: this.pem,
    };
  }
}

/** Anything that holds one certificate: PEM text, DER bytes, or a Node `X509Certificate`. */
export type CertificateInput = string | Uint8Array | X509Certificate;

/**
 * The DER bytes of the first certificate of `input`, without parsing it; throws a {@link PemError} with the
 * finding's code when there is none.
 */
export function certificateDer(input: CertificateInput): Buffer {
  if (input instanceof X509Certificate) return input.raw;
  if (
    typeof input !== "string" &&
    !Buffer.from(input.subarray(0, 4096)).toString("latin1").includes("-----BEGIN")
  ) {
    return Buffer.from(input);
  }
  const { blocks, findings } = parsePem(input);
  const block = blocks.find((b) => b.type === "certificate");
  if (block) return block.der;
  const problem = findings.find((f) => f.severity === "error");
  const code =
    problem?.code === "PEM_MALFORMED"
      ? "PEM_MALFORMED"
      : blocks.length > 0
        ? "PEM_UNEXPECTED_BLOCK"
        : "NOT_PEM";
  throw new PemError(code, problem?.message ?? "no CERTIFICATE block in the input", {
    remedy: problem?.remedy ?? "Give the PEM certificate (-----BEGIN CERTIFICATE-----).",
  });
}

/**
 * Node's and the ASN.1 view of recently read certificates, by DER: the CA and intermediates of a fleet of
 * configurations are decoded once. Bounded; both views are only read. Each ParsedCertificate stays its own object.
 */
const decodedDer = new Map<string, { node: X509Certificate; asn: Certificate }>();
const DECODED_MAX = 512;

function decodeDer(der: Buffer): { node: X509Certificate; asn: Certificate } {
  const key = der.toString("base64");
  const known = decodedDer.get(key);
  if (known) return known;
  const decoded = { node: new X509Certificate(der), asn: AsnParser.parse(der, Certificate) };
  decodedDer.set(key, decoded);
  if (decodedDer.size > DECODED_MAX) decodedDer.delete(decodedDer.keys().next().value!);
  return decoded;
}

/** Reads the first certificate of `input`; throws a {@link PemError} with the finding's code when there is none. */
export function parseCertificate(input: CertificateInput): ParsedCertificate {
  return new ParsedCertificate(certificateDer(input));
}

/**
 * Everything a person checks in a certificate: names, serial, validity, SANs, key, signature hash, basic
 * constraints, key usages, key ids, CRL and AIA locations, fingerprints, SPKI pin, size.
 *
 * @example
 * ```ts
 * const info = inspectCertificate(await readFile("broker.crt", "utf8"));
 * console.log(info.subject.oneLine, info.subjectAltNames.dns, info.notAfter, info.spkiPin);
 * ```
 * @throws {PemError} `NOT_PEM`, `PEM_MALFORMED` or `PEM_UNEXPECTED_BLOCK` when the input holds no certificate.
 */
export function inspectCertificate(input: CertificateInput): CertificateInfo {
  const der = certificateDer(input);
  const key = der.toString("base64");
  const known = described.get(key);
  if (known) {
    // Most recently used last: the oldest entry is the first to go.
    described.delete(key);
    described.set(key, known);
    return known;
  }
  const info = new ParsedCertificate(der).info();
  described.set(key, info);
  if (described.size > DESCRIBED_MAX) described.delete(described.keys().next().value!);
  return info;
}

/**
 * Descriptions of recently inspected certificates, by DER: a fleet of configurations shares its CA and
 * intermediates, and a rule set looks at each certificate several times. Bounded; the info is read-only.
 */
const described = new Map<string, CertificateInfo>();
const DESCRIBED_MAX = 512;
