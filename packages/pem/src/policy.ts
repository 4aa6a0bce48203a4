import type { Severity } from "@proj/findings";
import type { CertificateInfo } from "./certificate.js";

/** How a policy treats something: a severity, or `off` to say nothing. */
export type PolicySeverity = Severity | "off";

/**
 * The limits a certificate is judged by: key sizes and curves, signature hashes, size, chain depth, CRL age. A
 * security profile (`@proj/security-config`) carries one, and every check that judges a certificate takes it:
 * `verifyChain` (the broker's chain, live or offline) and the static rules. No limit is written anywhere else.
 */
export interface CertificatePolicy {
  /** RSA keys below this many bits are WEAK_KEY. */
  readonly minRsaBits: number;
  /** Named curves (Node's names) an EC key may use. */
  readonly allowedCurves: readonly string[];
  /** Whether Ed25519/Ed448 keys are acceptable. */
  readonly allowEdwards: boolean;
  /** How a SHA-1 signature is judged, and an MD5 or MD2 one. */
  readonly sha1Signature: PolicySeverity;
  readonly md5Signature: PolicySeverity;
  /** Certificates larger than this (DER bytes) are CERT_TOO_LARGE. */
  readonly maxCertBytes: number;
  /** Most intermediates between a leaf and its trust anchor (self-issued ones not counted); CHAIN_TOO_LONG beyond. */
  readonly maxChainDepth: number;
  /** A CRL whose thisUpdate is older than this (hours) is CRL_STALE; `undefined`: no age limit. */
  readonly maxCrlAgeHours: number | undefined;
}

/**
 * Named curves (Node's names) strong enough for TLS certificates: P-256, P-384, P-521 and the Brainpool curves of
 * the same sizes.
 */
export const STRONG_EC_CURVES: readonly string[] = [
  "prime256v1",
  "secp384r1",
  "secp521r1",
  "brainpoolP256r1",
  "brainpoolP384r1",
  "brainpoolP512r1",
];

/**
 * The policy of the `baseline` profile and of `verifyChain` when it is given none: RSA 2048+, the strong curves,
 * Ed25519/Ed448 allowed, SHA-1 a warning and MD5 an error, 8 KiB certificates (IEC 62351-3's limit), at most 4
 * intermediates, no CRL age limit.
 *
 * @example
 * ```ts
 * verifyChain({ leaf, trusted, policy: { ...BASELINE_POLICY, minRsaBits: 3072 } });
 * ```
 */
export const BASELINE_POLICY: CertificatePolicy = {
  minRsaBits: 2048,
  allowedCurves: STRONG_EC_CURVES,
  allowEdwards: true,
  sha1Signature: "warning",
  md5Signature: "error",
  maxCertBytes: 8192,
  maxChainDepth: 4,
  maxCrlAgeHours: undefined,
};

/**
 * Why a public key is too weak under a policy, in words ("RSA 1024 bits (at least 2048 required)"), or
 * `undefined` when it is acceptable. DSA and unknown key types are never acceptable.
 *
 * @example
 * ```ts
 * keyWeakness(inspectCertificate(pem).publicKey, BASELINE_POLICY); // undefined for RSA 2048
 * ```
 */
export function keyWeakness(
  key: CertificateInfo["publicKey"],
  policy: CertificatePolicy,
): string | undefined {
  if ((key.type === "rsa" || key.type === "rsa-pss") && (key.bits ?? 0) < policy.minRsaBits)
    return `RSA ${key.bits} bits (at least ${policy.minRsaBits} required)`;
  if (key.type === "ec" && !policy.allowedCurves.includes(key.curve ?? ""))
    return `EC on ${key.curve ?? "an unknown curve"} (allowed: ${policy.allowedCurves.join(", ")})`;
  if ((key.type === "ed25519" || key.type === "ed448") && !policy.allowEdwards)
    return `${key.type}, which the policy does not allow`;
  if (key.type === "dsa") return "DSA, which TLS certificates must not use";
  if (key.type === "unknown") return "of an unknown type";
  return undefined;
}

/**
 * Whether a certificate's signature algorithm is weak, how a policy judges it, and why: MD5/MD2 (broken), SHA-1
 * (deprecated), DSA, or an algorithm nobody knows. `undefined` for a sound one.
 *
 * @example
 * ```ts
 * signatureWeakness(inspectCertificate(pem).signature, BASELINE_POLICY); // { severity: "warning", ... } for SHA-1
 * ```
 */
export function signatureWeakness(
  signature: CertificateInfo["signature"],
  policy: CertificatePolicy,
):
  | { readonly severity: PolicySeverity; readonly why: string; readonly refusedByOpenSsl: boolean }
  | undefined {
  const { algorithm, hash, oid } = signature;
  if (hash === "MD5" || hash === "MD2")
    return { severity: policy.md5Signature, why: `${algorithm} (broken)`, refusedByOpenSsl: true };
  if (hash === "SHA-1")
    return {
      severity: policy.sha1Signature,
      why: `${algorithm} (SHA-1 is deprecated)`,
      refusedByOpenSsl: true,
    };
  if (algorithm.startsWith("dsa"))
    return { severity: "error", why: `${algorithm} (DSA is not allowed)`, refusedByOpenSsl: false };
  if (algorithm === oid)
    return { severity: "error", why: `an unknown algorithm ${oid}`, refusedByOpenSsl: false };
  return undefined;
}

/** What is wrong with a validity period at a time, if anything. */
export type ValidityProblem =
  | { readonly code: "CERT_NOT_YET_VALID"; readonly text: string }
  | { readonly code: "CERT_EXPIRED"; readonly text: string }
  | { readonly code: "CERT_EXPIRES_SOON"; readonly text: string; readonly daysLeft: number };

const DAY_MS = 86_400_000;

/**
 * Judges a validity period at `time`: not yet valid, expired, or (with `warningDays`) expiring within that many
 * days; the text completes "the certificate …".
 *
 * @example
 * ```ts
 * validityProblem(info, new Date(), 30); // { code: "CERT_EXPIRES_SOON", daysLeft: 12, text: "expires in 12 day(s), on …" }
 * ```
 */
export function validityProblem(
  period: { readonly notBefore: Date; readonly notAfter: Date },
  time: Date,
  warningDays?: number,
): ValidityProblem | undefined {
  if (time < period.notBefore)
    return { code: "CERT_NOT_YET_VALID", text: `is valid only from ${period.notBefore.toISOString()}` };
  if (time > period.notAfter)
    return { code: "CERT_EXPIRED", text: `expired on ${period.notAfter.toISOString()}` };
  const daysLeft = Math.floor((period.notAfter.getTime() - time.getTime()) / DAY_MS);
  if (warningDays !== undefined && daysLeft < warningDays)
    return {
      code: "CERT_EXPIRES_SOON",
      daysLeft,
      text: `expires in ${daysLeft} day(s), on ${period.notAfter.toISOString()}`,
    };
  return undefined;
}
