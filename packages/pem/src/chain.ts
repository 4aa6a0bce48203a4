import { AsnConvert } from "@peculiar/asn1-schema";
import { OID, ParsedCertificate, type CertificateInfo, type CertificateInput } from "./certificate.js";
import { X509Certificate } from "node:crypto";
import { isPemError } from "./errors.js";
import { createFinding, hasErrors, type Finding, type FindingCode } from "@proj/findings";
import {
  ipToBytes,
  isValidDnsName,
  matchesDnsName,
  nameConstraintViolation,
  readNameConstraints,
  type ConstrainedNames,
} from "./names.js";
import { parsePem } from "./parse-pem.js";
import {
  BASELINE_POLICY,
  keyWeakness,
  signatureWeakness,
  validityProblem,
  type CertificatePolicy,
} from "./policy.js";

/** Runs `work`; a coded PemError raised while reading a certificate becomes the one finding of the result. */
function neverThrows<T>(work: () => T, fail: (finding: Finding) => T): T {
  try {
    return work();
  } catch (error) {
    if (!isPemError(error)) throw error;
    return fail(
      createFinding(error.code, "error", error.message, error.remedy ? { remedy: error.remedy } : {}),
    );
  }
}

/** Input of {@link verifyChain}. */
export interface VerifyChainInput {
  /** The end-entity certificate: PEM, DER bytes or an `X509Certificate` (as `inspectCertificate` takes it). */
  leaf: CertificateInput;
  /** Intermediate certificates in any order (a PEM entry may hold several). */
  intermediates?: readonly CertificateInput[];
  /** Trust anchors: CA roots, or the peer's own self-signed certificate (a PEM entry may hold several). */
  trusted: readonly CertificateInput[];
  /** @default now */
  time?: Date;
  /** The host or address the certificate must name. */
  peerName?: { kind: "DNS" | "IP"; value: string };
  /** @default "server" */
  purpose?: "server" | "client";
  /** Most intermediates allowed between leaf and anchor (self-issued ones not counted). @default `policy.maxChainDepth` when a policy is given, else unlimited */
  maxDepth?: number;
  /**
   * The limits of the security profile (key sizes, curves, hashes, certificate size, chain depth); the `baseline`
   * profile's when not given. `@proj/security-config` profiles carry one as `profile.parameters`.
   */
  policy?: Partial<CertificatePolicy>;
  /** @default true: the lint rules (a strict verifier's refusals beyond OpenSSL's) are errors, else warnings. */
  strict?: boolean;
}

/** The verdict of {@link verifyChain}: whether a path passed, the findings, and the path checked. */
export interface VerifyChainResult {
  /** No error finding: a path to a trust anchor exists and passes every rule. */
  readonly ok: boolean;
  readonly findings: Finding[];
  /** The path checked, leaf first, anchor last (as far as it could be built when `ok` is false). */
  readonly chain: CertificateInfo[];
}

interface Context {
  readonly time: Date;
  readonly purpose: "server" | "client";
  readonly peerName: VerifyChainInput["peerName"];
  readonly maxDepth: number | undefined;
  readonly strict: boolean;
  readonly policy: CertificatePolicy;
}

/** A path, leaf first; the last certificate is the trust anchor. */
type Path = readonly ParsedCertificate[];
type Rule = (path: Path, context: Context, finding: FindingFactory) => Finding[];
type FindingFactory = (kind: "core" | "lint", code: FindingCode, message: string, remedy?: string) => Finding;

const PURPOSE_EKU = { server: "serverAuth", client: "clientAuth" } as const;
/** How far path building searches: a bound on work, not a policy limit (the policy's maxChainDepth is that). */
const MAX_DEPTH_LIMIT = 8;

/** Extensions a verifier understands; any other one marked critical makes the certificate unusable. */
const KNOWN_EXTENSIONS = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.issuerAltName,
  OID.subjectKeyId,
  OID.authorityKeyId,
  OID.nameConstraints,
  OID.crlDistributionPoints,
  OID.certificatePolicies,
  OID.policyMappings,
  OID.policyConstraints,
  OID.inhibitAnyPolicy,
  OID.freshestCrl,
  OID.authorityInfoAccess,
  OID.subjectInfoAccess,
  OID.tlsFeature,
  OID.sctList,
  OID.ctPoison,
]);

function role(path: Path, index: number): string {
  const cert = path[index]!;
  const name = `"${cert.subjectName.oneLine || "(empty subject)"}"`;
  if (index === 0) return `the ${path.length === 1 ? "trusted " : ""}certificate ${name}`;
  if (index === path.length - 1) return `the root ${name}`;
  return `the intermediate ${name}`;
}

const isAnchor = (path: Path, index: number): boolean => index === path.length - 1;

/** `"CN=Issuer" (key id aa:bb:...)`: the issuer a certificate names, as a person looks it up. */
function issuerOf(cert: ParsedCertificate): string {
  const keyId = cert.authorityKeyId;
  return `"${cert.issuerName.oneLine}"${keyId ? ` (key id ${keyId.replace(/(..)(?!$)/g, "$1:")})` : ""}`;
}
const issuers = (path: Path): number[] => path.map((_, i) => i).filter((i) => i > 0);

// ---------------------------------------------------------------------------------------------------------------
// Rules. Each returns findings for one concern; "core" findings are what OpenSSL refuses in a handshake,
// "lint" findings what a strict verifier refuses on top (errors when strict, warnings otherwise).

const ruleValidity: Rule = (path, { time }, finding) =>
  path.flatMap((cert, i) => {
    const problem = validityProblem(cert, time);
    if (!problem) return [];
    return [
      finding(
        "core",
        problem.code,
        `${role(path, i)} ${problem.text}.`,
        problem.code === "CERT_EXPIRED"
          ? "Renew the certificate and install the new one."
          : "Check the clock of this device, or wait until the certificate is valid.",
      ),
    ];
  });

const ruleSignatureAlgorithmMatch: Rule = (path, _context, finding) =>
  path.flatMap((cert, i) => {
    const outer = cert.asn.signatureAlgorithm;
    const inner = cert.asn.tbsCertificate.signature;
    const same =
      outer.algorithm === inner.algorithm &&
      Buffer.from(AsnConvert.serialize(outer)).equals(Buffer.from(AsnConvert.serialize(inner)));
    return same
      ? []
      : [
          finding(
            "core",
            "CERT_SIGNATURE_INVALID",
            `${role(path, i)} names two different signature algorithms.`,
          ),
        ];
  });

const ruleIssuersAreCas: Rule = (path, _context, finding) =>
  issuers(path).flatMap((i) => {
    const cert = path[i]!;
    const bc = cert.basicConstraints;
    if (!bc)
      return [
        finding(
          "core",
          "NOT_A_CA",
          `${role(path, i)} has no basicConstraints, so it cannot issue certificates.`,
          "Issue the CA certificate with basicConstraints=critical,CA:TRUE.",
        ),
      ];
    if (!bc.cA)
      return [
        finding(
          "core",
          "NOT_A_CA",
          `${role(path, i)} is not a CA (basicConstraints CA:FALSE) but issued a certificate.`,
          "Issue the CA certificate with basicConstraints=critical,CA:TRUE.",
        ),
      ];
    if (!cert.extension(OID.basicConstraints)!.critical) {
      return [
        finding(
          "lint",
          "CERT_EXTENSION_INVALID",
          `${role(path, i)} has basicConstraints not marked critical (RFC 5280 requires it in CA certificates).`,
        ),
      ];
    }
    return [];
  });

const ruleIssuerKeyUsage: Rule = (path, _context, finding) =>
  issuers(path).flatMap((i) => {
    const usage = path[i]!.keyUsage;
    return usage && !usage.includes("keyCertSign")
      ? [
          finding(
            "core",
            "KEY_USAGE_INVALID",
            `${role(path, i)} has a keyUsage without keyCertSign, so it may not sign certificates.`,
          ),
        ]
      : [];
  });

const ruleLeafRole: Rule = (path, _context, finding) => {
  const leaf = path[0]!;
  const out: Finding[] = [];
  if (leaf.isCa && path.length > 1) {
    out.push(
      finding(
        "lint",
        "CERT_CA_AS_LEAF",
        `${role(path, 0)} is a CA certificate (CA:TRUE) used as an end entity.`,
        "Issue the end-entity certificate with basicConstraints=CA:FALSE.",
      ),
    );
  }
  if (!leaf.isCa && leaf.basicConstraints?.pathLenConstraint !== undefined) {
    out.push(
      finding(
        "lint",
        "CERT_EXTENSION_INVALID",
        `${role(path, 0)} has a pathLenConstraint without being a CA (RFC 5280 4.2.1.9: only with CA:TRUE).`,
      ),
    );
  }
  if (!leaf.isCa && leaf.keyUsage?.includes("keyCertSign")) {
    out.push(
      finding(
        "lint",
        "KEY_USAGE_INVALID",
        `${role(path, 0)} may sign certificates (keyCertSign) without being a CA.`,
      ),
    );
  }
  const usage = leaf.keyUsage;
  if (
    usage &&
    !usage.includes("digitalSignature") &&
    !usage.includes("keyEncipherment") &&
    !usage.includes("keyAgreement")
  ) {
    out.push(
      finding(
        "lint",
        "KEY_USAGE_INVALID",
        `${role(path, 0)} has a keyUsage that allows no TLS handshake (${usage.join(", ")}).`,
      ),
    );
  }
  return out;
};

const rulePathLength: Rule = (path, _context, finding) =>
  issuers(path).flatMap((i) => {
    const limit = path[i]!.basicConstraints?.pathLenConstraint;
    if (limit === undefined) return [];
    const below = path.slice(1, i).filter((c) => !c.selfIssued).length;
    return below > limit
      ? [
          finding(
            "core",
            "PATH_LEN_EXCEEDED",
            `${role(path, i)} allows ${limit} intermediate(s) below it (pathLenConstraint) and has ${below}.`,
          ),
        ]
      : [];
  });

const ruleDepth: Rule = (path, { maxDepth }, finding) => {
  if (maxDepth === undefined) return [];
  const depth = path.slice(1, -1).filter((c) => !c.selfIssued).length;
  return depth > maxDepth
    ? [
        finding(
          "core",
          "CHAIN_TOO_LONG",
          `The chain has ${depth} intermediate(s); at most ${maxDepth} are allowed.`,
        ),
      ]
    : [];
};

const ruleExtendedKeyUsage: Rule = (path, { purpose, strict }, finding) => {
  const wanted = PURPOSE_EKU[purpose];
  const out: Finding[] = [];
  path.forEach((cert, i) => {
    const eku = cert.extKeyUsage;
    if (i > 0 && isAnchor(path, i) && eku) {
      out.push(
        finding(
          "lint",
          "CERT_EXTENSION_INVALID",
          `${role(path, i)} carries extKeyUsage, which a root must not (CA/Browser Forum).`,
        ),
      );
      return;
    }
    if (!eku) {
      if (i === 0)
        out.push(
          finding(
            "lint",
            "EKU_MISMATCH",
            `${role(path, 0)} has no extendedKeyUsage; a ${purpose} certificate should say ${wanted}.`,
            `Issue it with extendedKeyUsage=${wanted}.`,
          ),
        );
      return;
    }
    if (i === 0 && path.length > 1 && cert.extension(OID.extKeyUsage)!.critical) {
      // RFC 5280 leaves it to the issuer; the CA/Browser Forum (7.1.2.7.6) forbids it, and is the stricter.
      out.push(
        finding(
          "lint",
          "CERT_EXTENSION_INVALID",
          `${role(path, 0)} marks extendedKeyUsage critical (CA/Browser Forum: must not be).`,
          "Issue it with extendedKeyUsage not marked critical.",
        ),
      );
    }
    const allows = eku.includes(wanted) || (!strict && eku.includes("anyExtendedKeyUsage"));
    if (!allows) {
      out.push(
        finding(
          "core",
          "EKU_MISMATCH",
          `${role(path, i)} allows ${eku.join(", ")}, not ${wanted}: it cannot be used for a TLS ${purpose}.`,
          `Issue it with extendedKeyUsage=${wanted}.`,
        ),
      );
    } else if (strict && eku.includes("anyExtendedKeyUsage")) {
      out.push(
        finding(
          "lint",
          "EKU_MISMATCH",
          `${role(path, i)} carries anyExtendedKeyUsage, which a strict verifier refuses.`,
        ),
      );
    }
  });
  return out;
};

function sanDnsNames(cert: ParsedCertificate): string[] {
  return (cert.subjectAltNames ?? []).flatMap((n) => (n.dNSName !== undefined ? [n.dNSName] : []));
}

function commonNames(cert: ParsedCertificate): string[] {
  return cert.subjectName.parts.filter((p) => p.oid === "2.5.4.3").map((p) => p.value);
}

const rulePeerName: Rule = (path, { peerName, purpose, strict }, finding) => {
  const leaf = path[0]!;
  const san = leaf.subjectAltNames;
  const out: Finding[] = [];
  if (purpose === "server" && !leaf.extension(OID.subjectAltName)) {
    out.push(
      finding(
        "lint",
        "CERT_NO_SAN",
        `${role(path, 0)} has no subjectAltName; TLS clients match the host against the SAN only.`,
        "Issue it again with subjectAltName=DNS:<host>,IP:<address>.",
      ),
    );
  }
  if (!peerName) return out;
  let matched: boolean;
  if (peerName.kind === "IP") {
    const wanted = ipToBytes(peerName.value);
    matched =
      wanted !== undefined &&
      (san ?? []).some((n) => n.iPAddress !== undefined && ipToBytes(n.iPAddress)?.equals(wanted) === true);
  } else {
    const dns = sanDnsNames(leaf);
    matched = dns.some((name) => matchesDnsName(name, peerName.value));
    // OpenSSL, as Node uses it, still falls back to the CN when there is no DNS SAN; a strict verifier does not.
    if (!matched && !strict && dns.length === 0)
      matched = commonNames(leaf).some((cn) => matchesDnsName(cn, peerName.value));
  }
  if (!matched) {
    const names = [...sanDnsNames(leaf), ...(san ?? []).flatMap((n) => (n.iPAddress ? [n.iPAddress] : []))];
    out.push(
      finding(
        "core",
        "CERT_NAME_MISMATCH",
        `${role(path, 0)} is not valid for ${peerName.kind === "IP" ? "the address" : "the host"} ${peerName.value}; it names ${names.length > 0 ? names.join(", ") : "no host in its subjectAltName"}.`,
        `Connect with a name the certificate holds, or issue it with subjectAltName=${peerName.kind === "IP" ? "IP" : "DNS"}:${peerName.value}.`,
      ),
    );
  }
  return out;
};

/**
 * The names of `cert` that name constraints apply to (RFC 5280 4.2.1.10): DNS and IP SANs, the subject when not
 * empty and directoryName SANs. Where host matching falls back to the common name (not strict, no DNS SAN), a CN
 * that is a host name is a DNS name too: a name the client would accept must be one the constraints allow.
 */
function constrainedNames(cert: ParsedCertificate, isLeaf: boolean, strict: boolean): ConstrainedNames {
  const sans = cert.subjectAltNames ?? [];
  const subject = cert.asn.tbsCertificate.subject;
  const dns = sanDnsNames(cert);
  const cnHosts =
    isLeaf && !strict && dns.length === 0 ? commonNames(cert).filter((cn) => isValidDnsName(cn)) : [];
  return {
    dns: [...dns, ...cnHosts],
    ip: sans.flatMap((n) => (n.iPAddress === undefined ? [] : [ipToBytes(n.iPAddress) ?? n.iPAddress])),
    dn: [
      ...(subject.length > 0 ? [subject] : []),
      ...sans.flatMap((n) => (n.directoryName ? [n.directoryName] : [])),
    ],
  };
}

const ruleNameConstraints: Rule = (path, { strict }, finding) => {
  const out: Finding[] = [];
  const leaf = path[0]!;
  if (path.length > 1 && !leaf.isCa && leaf.extension(OID.nameConstraints)) {
    out.push(
      finding(
        "lint",
        "CERT_EXTENSION_INVALID",
        `${role(path, 0)} carries nameConstraints, which only a CA certificate may (RFC 5280 4.2.1.10).`,
        "Issue the end-entity certificate without nameConstraints; put them in the issuing CA.",
      ),
    );
  }
  for (const i of issuers(path)) {
    const raw = path[i]!.extension(OID.nameConstraints);
    if (!raw) continue;
    if (!raw.critical) {
      // Applied all the same: a verifier that understands a constraint never ignores it.
      out.push(
        finding(
          "lint",
          "CERT_EXTENSION_INVALID",
          `${role(path, i)} has nameConstraints not marked critical (RFC 5280 requires it; its constraints are applied all the same).`,
          "Issue the CA certificate with nameConstraints marked critical.",
        ),
      );
    }
    const constraints = readNameConstraints(raw.value);
    if (typeof constraints === "string") {
      out.push(
        finding(
          "core",
          "NAME_CONSTRAINTS_VIOLATED",
          `${role(path, i)} has invalid name constraints: ${constraints}.`,
        ),
      );
      continue;
    }
    for (let j = i - 1; j >= 0; j--) {
      const cert = path[j]!;
      if (j > 0 && cert.selfIssued) continue;
      const violation = nameConstraintViolation(constrainedNames(cert, j === 0, strict), constraints);
      if (violation) {
        out.push(
          finding(
            "core",
            "NAME_CONSTRAINTS_VIOLATED",
            `${role(path, j)} breaks the name constraints of ${role(path, i)}: ${violation}.`,
          ),
        );
      }
    }
  }
  return out;
};

const ruleExtensions: Rule = (path, _context, finding) =>
  path.flatMap((cert, i) => {
    const out: Finding[] = [];
    const seen = new Set<string>();
    for (const ext of cert.extensions) {
      if (seen.has(ext.oid))
        out.push(
          finding("core", "CERT_EXTENSION_INVALID", `${role(path, i)} has the extension ${ext.oid} twice.`),
        );
      seen.add(ext.oid);
      if (ext.critical && !KNOWN_EXTENSIONS.has(ext.oid)) {
        out.push(
          finding(
            "core",
            "CERT_EXTENSION_INVALID",
            `${role(path, i)} has an unknown critical extension ${ext.oid}.`,
          ),
        );
      }
    }
    // Decode what is there: a malformed extension is a malformed certificate.
    for (const oid of cert.decodeKnownExtensions())
      out.push(
        finding("core", "CERT_EXTENSION_INVALID", `${role(path, i)} has a malformed extension ${oid}.`),
      );
    const san = cert.extension(OID.subjectAltName);
    if (san && (cert.subjectAltNames?.length ?? 1) === 0)
      out.push(finding("core", "CERT_EXTENSION_INVALID", `${role(path, i)} has an empty subjectAltName.`));
    return out;
  });

/** Extensions RFC 5280 says must not be marked critical. */
const NEVER_CRITICAL = [
  [OID.authorityKeyId, "authorityKeyIdentifier"],
  [OID.subjectKeyId, "subjectKeyIdentifier"],
  [OID.authorityInfoAccess, "authorityInfoAccess"],
] as const;

const ruleExtensionCriticality: Rule = (path, _context, finding) =>
  path.flatMap((cert, i) => {
    const out: Finding[] = [];
    for (const [oid, name] of NEVER_CRITICAL) {
      if (cert.extension(oid)?.critical) {
        out.push(
          finding(
            "lint",
            "CERT_EXTENSION_INVALID",
            `${role(path, i)} marks ${name} critical (RFC 5280: must not).`,
          ),
        );
      }
    }
    const san = cert.extension(OID.subjectAltName);
    const emptySubject = cert.asn.tbsCertificate.subject.length === 0;
    if (san && emptySubject && !san.critical)
      out.push(
        finding(
          "lint",
          "CERT_EXTENSION_INVALID",
          `${role(path, i)} has an empty subject, so its subjectAltName must be critical.`,
        ),
      );
    if (san && !emptySubject && san.critical)
      out.push(
        finding(
          "lint",
          "CERT_EXTENSION_INVALID",
          `${role(path, i)} marks subjectAltName critical although it has a subject.`,
        ),
      );
    return out;
  });

const ruleKeyIdentifiers: Rule = (path, _context, finding) =>
  path.flatMap((cert, i) => {
    const out: Finding[] = [];
    const selfSigned = cert.selfIssued && cert.signedBy(cert);
    if (cert.isCa && cert.subjectKeyId === undefined) {
      out.push(
        finding(
          "lint",
          "CERT_EXTENSION_INVALID",
          `${role(path, i)} is a CA without subjectKeyIdentifier (RFC 5280 requires one).`,
        ),
      );
    }
    const aki = cert.authorityKeyIdentifier;
    if (!selfSigned && aki?.keyIdentifier === undefined) {
      out.push(
        finding(
          "lint",
          "CERT_EXTENSION_INVALID",
          `${role(path, i)} has no authorityKeyIdentifier key id (RFC 5280 requires one in every certificate a CA issues).`,
        ),
      );
    }
    if (selfSigned && aki) {
      if (
        aki.keyIdentifier === undefined ||
        aki.authorityCertIssuer !== undefined ||
        aki.authorityCertSerialNumber !== undefined
      ) {
        out.push(
          finding(
            "lint",
            "CERT_EXTENSION_INVALID",
            `${role(path, i)} has an authorityKeyIdentifier that is not just its own key id.`,
          ),
        );
      } else if (cert.subjectKeyId !== undefined && cert.authorityKeyId !== cert.subjectKeyId) {
        out.push(
          finding(
            "lint",
            "CERT_EXTENSION_INVALID",
            `${role(path, i)} has an authorityKeyIdentifier that differs from its own subjectKeyIdentifier.`,
          ),
        );
      }
    }
    return out;
  });

const ruleNamesPresent: Rule = (path, _context, finding) =>
  path.flatMap((cert, i) => {
    const out: Finding[] = [];
    if (cert.asn.tbsCertificate.issuer.length === 0)
      out.push(finding("lint", "CERT_NAME_INVALID", `${role(path, i)} has an empty issuer name.`));
    if (cert.isCa && cert.asn.tbsCertificate.subject.length === 0)
      out.push(finding("lint", "CERT_NAME_INVALID", `${role(path, i)} is a CA with an empty subject name.`));
    return out;
  });

const ruleVersionAndSerial: Rule = (path, _context, finding) =>
  path.flatMap((cert, i) => {
    const out: Finding[] = [];
    if (cert.version !== 3)
      out.push(
        finding(
          "lint",
          "CERT_V1",
          `${role(path, i)} is a version ${cert.version} certificate; TLS chains need version 3.`,
          "Issue it again: any current tool writes version 3.",
        ),
      );
    const serial = cert.serialBytes;
    const magnitude = serial[0] === 0 ? serial.subarray(1) : serial;
    if (serial.every((b) => b === 0))
      out.push(finding("lint", "CERT_SERIAL_INVALID", `${role(path, i)} has serial number 0.`));
    else if ((serial[0]! & 0x80) !== 0)
      out.push(finding("lint", "CERT_SERIAL_INVALID", `${role(path, i)} has a negative serial number.`));
    else if (magnitude.length > 20)
      out.push(
        finding(
          "lint",
          "CERT_SERIAL_INVALID",
          `${role(path, i)} has a serial number of ${magnitude.length} bytes (at most 20).`,
        ),
      );
    return out;
  });

/**
 * OpenSSL 3.2 and later (Node 24 ships 3.5) run TLS at security level 2 by default: a handshake refuses RSA, DSA and
 * DH keys below 2048 bits and EC keys below 224 bits itself (ERR_SSL_EE_KEY_TOO_SMALL). Earlier ones (Node 20 and
 * 22 ship 3.0) accept them. What this runtime's handshake refuses is an error in both modes.
 */
const OPENSSL_REFUSES_SMALL_KEYS = (() => {
  const [major = 0, minor = 0] = (process.versions.openssl ?? "")
    .split(".")
    .map((part) => parseInt(part, 10));
  return major > 3 || (major === 3 && minor >= 2);
})();

function handshakeRefuses(key: ParsedCertificate["publicKey"]): boolean {
  if (!OPENSSL_REFUSES_SMALL_KEYS) return false;
  if (key.type === "rsa" || key.type === "rsa-pss" || key.type === "dsa") return (key.bits ?? 0) < 2048;
  if (key.type === "ec") return (key.bits ?? 0) < 224;
  return false;
}

const ruleKeyStrength: Rule = (path, { policy }, finding) =>
  path.flatMap((cert, i) => {
    const weak = keyWeakness(cert.publicKey, policy);
    return weak
      ? [
          finding(
            handshakeRefuses(cert.publicKey) ? "core" : "lint",
            "WEAK_KEY",
            `${role(path, i)} has a key that is ${weak}.`,
            "Issue it again with an RSA 2048/3072 or EC P-256/P-384 key.",
          ),
        ]
      : [];
  });

const ruleSignatureStrength: Rule = (path, { policy }, finding) =>
  // The anchor's own signature is never relied on; every other signature is.
  path.slice(0, path.length > 1 ? -1 : 0).flatMap((cert, i) => {
    const weak = signatureWeakness(cert.signature, policy);
    if (!weak) return [];
    // OpenSSL 3 (security level 1, as Node ships it) refuses MD5 and SHA-1 signatures itself.
    return [
      finding(
        weak.refusedByOpenSsl ? "core" : "lint",
        "WEAK_SIGNATURE",
        `${role(path, i)} is signed with ${weak.why}.`,
        "Issue it again with SHA-256 or stronger.",
      ),
    ];
  });

const ruleSize: Rule = (path, { policy }, finding) =>
  path.flatMap((cert, i) =>
    cert.der.length > policy.maxCertBytes
      ? [
          finding(
            "lint",
            "CERT_TOO_LARGE",
            `${role(path, i)} is ${cert.der.length} bytes; at most ${policy.maxCertBytes} are allowed.`,
          ),
        ]
      : [],
  );

/** Every rule a path goes through, in order. */
const RULES: readonly Rule[] = [
  ruleValidity,
  ruleSignatureAlgorithmMatch,
  ruleIssuersAreCas,
  ruleIssuerKeyUsage,
  ruleLeafRole,
  rulePathLength,
  ruleDepth,
  ruleExtendedKeyUsage,
  rulePeerName,
  ruleNameConstraints,
  ruleExtensions,
  ruleExtensionCriticality,
  ruleKeyIdentifiers,
  ruleNamesPresent,
  ruleVersionAndSerial,
  ruleKeyStrength,
  ruleSignatureStrength,
  ruleSize,
];

function checkPath(path: Path, context: Context): Finding[] {
  const finding: FindingFactory = (kind, code, message, remedy) =>
    createFinding(code, kind === "core" || context.strict ? "error" : "warning", message, { remedy });
  return RULES.flatMap((rule) => rule(path, context, finding));
}

// ---------------------------------------------------------------------------------------------------------------

function readAll(
  inputs: readonly CertificateInput[],
  source: string,
  findings: Finding[],
): ParsedCertificate[] {
  const out: ParsedCertificate[] = [];
  const decode = (der: Buffer, where: string) => {
    try {
      out.push(new ParsedCertificate(der));
    } catch (error) {
      if (!isPemError(error)) throw error;
      findings.push(
        createFinding("PEM_MALFORMED", "error", `${source}: the certificate ${where} does not decode.`),
      );
    }
  };
  for (const input of inputs) {
    if (input instanceof X509Certificate) {
      decode(input.raw, "given");
      continue;
    }
    const isText =
      typeof input === "string" ||
      Buffer.from(input.subarray(0, 4096)).toString("latin1").includes("-----BEGIN");
    if (!isText) {
      decode(Buffer.from(input), "given as DER");
      continue;
    }
    const parsed = parsePem(typeof input === "string" ? input : Buffer.from(input), { source });
    findings.push(...parsed.findings.filter((f) => f.severity === "error"));
    for (const block of parsed.blocks)
      if (block.type === "certificate") decode(block.der, `at line ${block.line}`);
  }
  return out;
}

function* candidatePaths(
  path: ParsedCertificate[],
  trusted: readonly ParsedCertificate[],
  intermediates: readonly ParsedCertificate[],
  limit: number,
): Generator<ParsedCertificate[]> {
  const current = path.at(-1)!;
  if (trusted.some((t) => t.der.equals(current.der))) {
    yield path;
    return;
  }
  if (path.length > limit + 1) return;
  const pool = [...trusted, ...intermediates.filter((c) => !trusted.some((t) => t.der.equals(c.der)))];
  const aki = current.authorityKeyId;
  const candidates = pool
    .filter((c) => c.subjectKey === current.issuerKey && !path.some((p) => p.der.equals(c.der)))
    .sort((a, b) => Number(b.subjectKeyId === aki) - Number(a.subjectKeyId === aki));
  for (const candidate of candidates) {
    if (!current.signedBy(candidate)) continue;
    yield* candidatePaths([...path, candidate], trusted, intermediates, limit);
  }
}

function diagnoseNoPath(
  leaf: ParsedCertificate,
  trusted: readonly ParsedCertificate[],
  intermediates: readonly ParsedCertificate[],
): { findings: Finding[]; partial: ParsedCertificate[] } {
  const partial = [leaf];
  const pool = [...intermediates, ...trusted];
  for (let current = leaf; partial.length <= MAX_DEPTH_LIMIT + 1;) {
    if (current.selfIssued && current.signedBy(current)) {
      const name = current.subjectName.oneLine;
      return {
        partial,
        findings: [
          createFinding(
            "CHAIN_UNTRUSTED",
            "error",
            partial.length === 1
              ? `The self-signed certificate "${name}" is not in the trust store.`
              : `The chain ends at the root "${name}", which the trust store does not hold: the trust store is for another CA.`,
            {
              remedy: `Put the certificate of "${name}" (SHA-256 ${current.node.fingerprint256}) into the trust store, if it is the CA you mean to trust.`,
            },
          ),
        ],
      };
    }
    const named = pool.filter((c) => c.subjectKey === current.issuerKey && !partial.includes(c));
    const issuer = named.find((c) => current.signedBy(c));
    if (!issuer) {
      if (named.length > 0) {
        return {
          partial,
          findings: [
            createFinding(
              "CERT_SIGNATURE_INVALID",
              "error",
              `The certificate "${current.subjectName.oneLine}" names "${current.issuerName.oneLine}" as issuer, but the signature does not verify with that certificate's key: it was issued by another key of the same name.`,
              {
                remedy:
                  "Use the issuer certificate that really signed it (compare key ids), or issue the certificate again.",
              },
            ),
          ],
        };
      }
      const issuer = issuerOf(current);
      // Above an intermediate, the missing issuer is the root: the trust store is for another CA.
      const finding =
        current === leaf
          ? createFinding(
              "CHAIN_INCOMPLETE",
              "error",
              `The issuer of "${current.subjectName.oneLine}" is missing: ${issuer} is neither in the chain nor in the trust store.`,
              {
                remedy: `Add the intermediate certificate "${current.issuerName.oneLine}" to the chain the peer sends, after the leaf; if it is a root CA, add it to the trust store instead.`,
              },
            )
          : createFinding(
              "CHAIN_UNTRUSTED",
              "error",
              `The chain reaches "${current.subjectName.oneLine}", issued by ${issuer}, which the trust store does not hold: the trust store is for another CA.`,
              {
                remedy: `Put the root certificate "${current.issuerName.oneLine}" into the trust store, if it is the CA you mean to trust.`,
              },
            );
      return { partial, findings: [finding] };
    }
    partial.push(issuer);
    if (trusted.includes(issuer)) break;
    current = issuer;
  }
  return {
    partial,
    findings: [
      createFinding("CHAIN_INCOMPLETE", "error", "No path to a trusted certificate could be built."),
    ],
  };
}

/**
 * Checks a certificate chain like a strict TLS verifier: builds every path from the leaf through the given
 * intermediates (any order) to a trust anchor, verifies signatures with Node's crypto, then runs each path
 * through the rules (validity, CA flags, key usages, pathLen, depth, EKU for the purpose, peer name, name
 * constraints, critical extensions; and, strictly, the lint rules: SAN present, EKU present, v3, key and
 * signature strength, serial, size, key identifiers). The first path that passes wins.
 *
 * @example
 * ```ts
 * const result = verifyChain({
 *   leaf: serverPem,
 *   intermediates: [intermediatePem],
 *   trusted: [rootPem],
 *   peerName: { kind: "IP", value: "192.168.10.20" },
 * });
 * if (!result.ok) for (const f of result.findings) console.log(f.code, f.message, f.remedy);
 * ```
 */
export function verifyChain(input: VerifyChainInput): VerifyChainResult {
  return neverThrows(
    () => verifyChainUnsafe(input),
    (finding) => ({ ok: false, findings: [finding], chain: [] }),
  );
}

function verifyChainUnsafe(input: VerifyChainInput): VerifyChainResult {
  const context: Context = {
    time: input.time ?? new Date(),
    purpose: input.purpose ?? "server",
    peerName: input.peerName,
    maxDepth: input.maxDepth ?? input.policy?.maxChainDepth,
    strict: input.strict ?? true,
    policy: { ...BASELINE_POLICY, ...input.policy },
  };
  const inputFindings: Finding[] = [];
  const [leaf] = readAll([input.leaf], "leaf", inputFindings);
  if (!leaf) {
    if (inputFindings.length === 0)
      inputFindings.push(createFinding("NOT_PEM", "error", "The leaf holds no certificate."));
    return { ok: false, findings: inputFindings, chain: [] };
  }
  const intermediates = readAll(input.intermediates ?? [], "intermediates", inputFindings);
  const trusted = readAll(input.trusted, "trust store", inputFindings);
  if (trusted.length === 0) {
    inputFindings.push(
      createFinding("TRUST_STORE_EMPTY", "error", "The trust store holds no certificate.", {
        remedy: "Add the CA certificate (PEM) that issued the peer's certificate.",
      }),
    );
  }

  const limit = Math.min(
    context.maxDepth === undefined ? MAX_DEPTH_LIMIT : context.maxDepth + 4,
    MAX_DEPTH_LIMIT,
  );
  let best: { path: ParsedCertificate[]; findings: Finding[] } | undefined;
  let tried = 0;
  for (const path of candidatePaths([leaf], trusted, intermediates, limit)) {
    const findings = checkPath(path, context);
    if (!hasErrors(findings)) {
      return {
        ok: inputFindings.length === 0,
        findings: [...inputFindings, ...findings],
        chain: path.map((c) => c.info()),
      };
    }
    if (
      !best ||
      findings.filter((f) => f.severity === "error").length <
        best.findings.filter((f) => f.severity === "error").length
    ) {
      best = { path, findings };
    }
    if (++tried >= 32) break;
  }
  if (best)
    return {
      ok: false,
      findings: [...inputFindings, ...best.findings],
      chain: best.path.map((c) => c.info()),
    };
  const { findings, partial } = diagnoseNoPath(leaf, trusted, intermediates);
  return { ok: false, findings: [...inputFindings, ...findings], chain: partial.map((c) => c.info()) };
}

/** Result of {@link buildChain}. */
export interface BuildChainResult {
  /** Leaf first, then each issuer found in the input (and the trust store's root, when one issued the top). */
  readonly chain: CertificateInfo[];
  /** The chain as PEM in leaf-to-root order, without a trusted root: what a TLS peer should send. */
  readonly pem: string;
  readonly findings: Finding[];
}

/**
 * Orders a bundle of certificates leaf first, says when the given order was wrong (`CHAIN_ORDER`), names a
 * missing intermediate (`CHAIN_INCOMPLETE`, with the issuer's name and key id), and, given a trust store,
 * notices when it lacks the root (`CHAIN_UNTRUSTED`). It does not judge validity: {@link verifyChain} does.
 *
 * @example
 * ```ts
 * const { pem, findings } = buildChain(await readFile("client-chain.pem", "utf8"), { trusted: [caPem] });
 * ```
 */
export function buildChain(
  bundle: string | readonly string[],
  options: { trusted?: readonly string[]; source?: string } = {},
): BuildChainResult {
  return neverThrows(
    () => buildChainUnsafe(bundle, options),
    (finding) => ({ chain: [], pem: "", findings: [finding] }),
  );
}

function buildChainUnsafe(
  bundle: string | readonly string[],
  options: { trusted?: readonly string[]; source?: string } = {},
): BuildChainResult {
  const findings: Finding[] = [];
  const source = options.source ?? "the chain";
  const certs = readAll(typeof bundle === "string" ? [bundle] : bundle, source, findings);
  const trusted = readAll(options.trusted ?? [], "trust store", findings);
  if (certs.length === 0) {
    if (findings.length === 0)
      findings.push(createFinding("NOT_PEM", "error", `${source} holds no certificate.`));
    return { chain: [], pem: "", findings };
  }
  const issuedSomething = (c: ParsedCertificate) =>
    certs.some((o) => o !== c && !o.selfIssued && o.issuerKey === c.subjectKey && o.signedBy(c));
  const leaf = certs.find((c) => !issuedSomething(c)) ?? certs[0]!;
  const ordered = [leaf];
  for (let current = leaf; !(current.selfIssued && current.signedBy(current));) {
    const issuer = certs.find(
      (c) => !ordered.includes(c) && c.subjectKey === current.issuerKey && current.signedBy(c),
    );
    if (!issuer) break;
    ordered.push(issuer);
    current = issuer;
  }
  const unrelated = certs.filter((c) => !ordered.includes(c));
  if (ordered.some((c, i) => certs[i] !== c)) {
    findings.push(
      createFinding(
        "CHAIN_ORDER",
        "warning",
        `${source} is not in leaf-to-root order: it should be ${ordered.map((c) => `"${c.subjectName.oneLine}"`).join(", then ")}.`,
        {
          remedy:
            "Write the leaf certificate first, then its issuer, then that one's issuer (some devices read only the first certificate).",
        },
      ),
    );
  }
  for (const extra of unrelated) {
    findings.push(
      createFinding(
        "CHAIN_ORDER",
        "warning",
        `"${extra.subjectName.oneLine}" in ${source} is not part of the chain of "${leaf.subjectName.oneLine}".`,
        { remedy: "Remove it from the chain file." },
      ),
    );
  }
  const top = ordered.at(-1)!;
  const topIsRoot = top.selfIssued && top.signedBy(top);
  const anchor = topIsRoot
    ? undefined
    : trusted.find((t) => t.subjectKey === top.issuerKey && top.signedBy(t));
  if (!topIsRoot && !anchor) {
    const inTrustStore = options.trusted !== undefined;
    findings.push(
      createFinding(
        inTrustStore && trusted.some((t) => t.subjectKey === top.issuerKey)
          ? "CERT_SIGNATURE_INVALID"
          : "CHAIN_INCOMPLETE",
        "error",
        `The issuer of "${top.subjectName.oneLine}" is missing: ${issuerOf(top)} is not in ${source}${inTrustStore ? " nor in the trust store" : ""}.`,
        {
          remedy: `Add the certificate of "${top.issuerName.oneLine}" to ${source} after "${top.subjectName.oneLine}", or to the trust store if it is a root.`,
        },
      ),
    );
  } else if (topIsRoot && options.trusted !== undefined && !trusted.some((t) => t.der.equals(top.der))) {
    findings.push(
      createFinding(
        "CHAIN_UNTRUSTED",
        "error",
        `The chain ends at the root "${top.subjectName.oneLine}", which the trust store does not hold.`,
        {
          remedy: `Add that root (SHA-256 ${top.node.fingerprint256}) to the trust store if it is the CA you mean to trust.`,
        },
      ),
    );
  }
  const chainCerts = anchor ? [...ordered, anchor] : ordered;
  const sent = ordered.filter((c) => !(c.selfIssued && c.signedBy(c)) || c === leaf);
  return { chain: chainCerts.map((c) => c.info()), pem: sent.map((c) => c.pem).join(""), findings };
}
