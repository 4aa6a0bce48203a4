import type * as X509 from "@peculiar/x509";
import { randomBytes, type KeyObject } from "node:crypto";
import {
  defaultHash,
  signingAlgorithm,
  toCryptoPrivateKey,
  toCryptoPublicKey,
  type KeyPair,
  type KeyType,
  type SignatureHash,
} from "./keys.js";
import { PkiError } from "./errors.js";
import { loadX509 } from "./x509.js";

/** The CA that signs: its certificate and key pair. */
export interface Issuer {
  readonly cert: X509.X509Certificate;
  readonly pair: KeyPair;
}

/** What {@link signCertificate} puts into a certificate. */
export interface CertificateSpec {
  /** Distinguished name, e.g. `CN=plc1, O=Plant`. */
  readonly subject: string;
  /** The subject's public key and its type. */
  readonly publicKey: KeyObject;
  readonly keyType: KeyType;
  /** The signing CA; without one the certificate is self-signed and `signingPair` must be the subject's pair. */
  readonly issuer?: Issuer | undefined;
  /** The subject's own pair when self-signed. */
  readonly signingPair?: KeyPair | undefined;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: readonly X509.Extension[];
  /** @default SHA-256 (SHA-384 for a P-384 signer, SHA-512 for P-521) */
  readonly hash?: SignatureHash | undefined;
}

/** A random positive serial number, exactly 16 bytes in DER, upper-case hex. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString("hex").toUpperCase();
}

/**
 * The one certificate builder of the project: signs `spec` with the issuer's key (or the subject's own, for a root),
 * adding the subject and authority key identifiers. For shapes the lab and test PKIs do not make (a name constraint,
 * a critical policy, a path length), give the extensions yourself.
 *
 * @example
 * ```ts
 * import * as x509 from "@peculiar/x509";
 * const rootPair = await generateKeyPair("ec-p256");
 * const now = Date.now();
 * const root = await signCertificate({
 *   subject: "CN=Plant Root CA",
 *   publicKey: rootPair.publicKey,
 *   keyType: rootPair.type,
 *   signingPair: rootPair,
 *   notBefore: new Date(now),
 *   notAfter: new Date(now + 365 * 86_400_000),
 *   extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
 * });
 * console.log(root.toString("pem"));
 * ```
 * @throws {PkiError} `PKI_BAD_REQUEST` for SHA-1 with an Ed25519 signer (no such signature exists).
 */
export async function signCertificate(spec: CertificateSpec): Promise<X509.X509Certificate> {
  const x509 = await loadX509();
  const signer = spec.issuer?.pair ?? spec.signingPair;
  if (!signer) throw new TypeError("a self-signed certificate needs the subject's own key pair");
  const hash = spec.hash ?? defaultHash(signer.type);
  if (hash === "SHA-1" && signer.type === "ed25519") {
    throw new PkiError("PKI_BAD_REQUEST", "an Ed25519 CA cannot sign with SHA-1", {
      remedy: "Use an RSA or EC CA for SHA-1 certificates.",
    });
  }
  const publicKey = await toCryptoPublicKey(spec.publicKey, spec.keyType);
  const extensions = [...spec.extensions, await x509.SubjectKeyIdentifierExtension.create(publicKey)];
  if (spec.issuer) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(spec.issuer.cert.publicKey));
  }
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: spec.subject,
    issuer: spec.issuer?.cert.subject ?? spec.subject,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    signingAlgorithm: signingAlgorithm(signer.type, hash),
    publicKey,
    signingKey: await toCryptoPrivateKey(signer, hash),
    extensions,
  });
}

/** One revoked certificate in a CRL. */
export interface RevokedEntry {
  /** Serial number, hex. */
  readonly serial: string;
  readonly date: Date;
  /** An RFC 5280 reason name, e.g. `keyCompromise`. */
  readonly reason?: RevocationReason | undefined;
}

/** RFC 5280 CRL reason codes by name. */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
} as const;

/** A reason a certificate is revoked for (RFC 5280 §5.3.1). */
export type RevocationReason = keyof typeof REVOCATION_REASONS;

/** Signs a CRL for `issuer` listing `revoked`, valid from `thisUpdate` to `nextUpdate`. */
export async function signCrl(params: {
  issuer: Issuer;
  revoked: readonly RevokedEntry[];
  thisUpdate: Date;
  nextUpdate: Date;
}): Promise<X509.X509Crl> {
  const x509 = await loadX509();
  const hash = defaultHash(params.issuer.pair.type);
  return x509.X509CrlGenerator.create({
    issuer: params.issuer.cert.subject,
    thisUpdate: params.thisUpdate,
    nextUpdate: params.nextUpdate,
    entries: params.revoked.map((entry) => ({
      serialNumber: entry.serial,
      revocationDate: entry.date,
      ...(entry.reason === undefined ? {} : { reason: REVOCATION_REASONS[entry.reason] }),
    })),
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(params.issuer.cert.publicKey)],
    signingAlgorithm: signingAlgorithm(params.issuer.pair.type, hash),
    signingKey: await toCryptoPrivateKey(params.issuer.pair, hash),
  });
}
