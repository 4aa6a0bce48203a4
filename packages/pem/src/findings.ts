/**
 * The closed catalogue of finding codes shared by every package: what each code means. Codes are public API:
 * new ones may be added, none renamed.
 */
export const FINDING_CODES = {
  // Configuration and files
  TLS_DISABLED: "TLS is switched off: credentials and data cross the network in clear text.",
  SERVER_CERT_CHECK_DISABLED: "The client does not authenticate the broker's certificate.",
  CLIENT_CERT_DISABLED:
    "The client sends no certificate, so the broker cannot authenticate it by certificate.",
  MUTUAL_AUTH_REQUIRED: "The profile requires both server and client certificate authentication.",
  FIELD_IGNORED: "A field is set but has no effect with the current settings.",
  TRUST_STORE_MISSING: "The broker's certificate is checked but no trust store is configured.",
  TRUST_STORE_EMPTY: "The trust store holds no certificate.",
  KEY_STORE_MISSING: "A client certificate is to be sent but no key store is configured.",
  FILE_NOT_FOUND: "A referenced file does not exist.",
  FILE_UNREADABLE: "A referenced file exists but cannot be read.",
  NOT_PEM_DER: "The file is DER (binary) where PEM (text) is required.",
  NOT_PEM_PKCS12: "The file is a PKCS#12 (.p12/.pfx) bundle where PEM is required.",
  NOT_PEM_PKCS7: "The file is a PKCS#7 (.p7b) bundle where PEM is required.",
  NOT_PEM_BASE64: "The file holds base64 without the PEM BEGIN/END lines.",
  NOT_PEM: "The file is empty or not a certificate, key or CRL at all.",
  PEM_MALFORMED: "A PEM block is truncated or garbled.",
  PEM_UNKNOWN_BLOCK: "A PEM block of a kind this tool does not use.",
  PEM_UNEXPECTED_BLOCK: "A PEM block of the wrong kind for where it is used (e.g. a key in a trust store).",
  KEY_ENCRYPTED_NO_PASSPHRASE: "The private key is encrypted and no passphrase was given.",
  KEY_PASSPHRASE_WRONG: "The passphrase does not decrypt the private key (or PKCS#12 bundle).",
  KEY_UNSUPPORTED: "The private key is of a kind or encryption that cannot be used.",
  KEY_CERT_MISMATCH: "The private key does not belong to the certificate.",
  CERT_EXPIRED: "A certificate's validity has ended.",
  CERT_NOT_YET_VALID: "A certificate's validity has not started.",
  CERT_EXPIRES_SOON: "A certificate expires within the warning period.",
  CHAIN_INCOMPLETE: "An intermediate certificate between the leaf and a trusted root is missing.",
  CHAIN_ORDER: "The certificates are not in leaf-to-root order.",
  CHAIN_UNTRUSTED: "The chain ends at a certificate the trust store does not hold.",
  CHAIN_TOO_LONG: "The chain has more intermediates than allowed.",
  CERT_SIGNATURE_INVALID: "A certificate's signature does not verify with its issuer's key.",
  CERT_NAME_MISMATCH: "The certificate does not name the host or address it is used for.",
  CERT_NO_SAN: "A server certificate without a subjectAltName (modern clients ignore the CN).",
  CERT_V1: "A version 1 certificate (no extensions): not acceptable in a TLS chain.",
  CERT_SERIAL_INVALID: "A serial number that is zero, negative or longer than 20 bytes.",
  CERT_NAME_INVALID: "An empty or malformed subject or issuer name.",
  CERT_EXTENSION_INVALID:
    "An extension that is malformed, duplicated, unknown and critical, or wrongly marked.",
  CERT_CA_AS_LEAF: "An end-entity certificate that says it is a CA.",
  KEY_USAGE_INVALID: "Key usage bits that do not fit the certificate's role.",
  PATH_LEN_EXCEEDED: "A CA's pathLenConstraint is exceeded.",
  NAME_CONSTRAINTS_VIOLATED: "A name outside what a CA's name constraints allow.",
  WEAK_KEY: "A key that is too small or of a forbidden kind.",
  WEAK_SIGNATURE: "A signature made with a weak or forbidden algorithm (MD5, SHA-1, DSA).",
  CERT_TOO_LARGE: "A certificate larger than the size limit.",
  EKU_MISMATCH: "The extended key usage does not allow the certificate's purpose.",
  NOT_A_CA: "A certificate used as an issuer is not a CA.",
  TLS_VERSION_TOO_LOW: "A TLS version below what the profile allows.",
  URL_SCHEME_MISMATCH: "The broker URL's scheme contradicts the TLS setting.",
  ENV_VAR_MISSING: "A value refers to an environment variable that is not set.",
  UNKNOWN_FIELD: "A configuration field that does not exist.",
  DEVICE_UNSUPPORTED: "The device cannot do what the configuration asks.",
  FIELD_INVALID: "A configuration field has a value of the wrong type or outside its range.",
  PIN_MALFORMED: "A pinnedCertificates entry is not of the form sha256/<base64 SHA-256 of the SPKI>.",
  SERVER_NAME_OVERRIDE: "The name checked in the broker's certificate is not the host of the URL.",
  SESSION_RENEWAL_INVALID: "TLS session renewal intervals break the profile's limits.",
  CRL_MISSING: "No CRL is configured, so revoked broker certificates are not noticed.",
  CRL_EXPIRED: "A CRL is past its nextUpdate: revocations since then are unknown.",
  // Live connection
  BROKER_UNREACHABLE: "No TCP connection to the broker.",
  NOT_TLS: "The broker does not speak TLS on that port.",
  TLS_EXPECTED: "The broker expects TLS and received plain MQTT.",
  SERVER_CERT_UNTRUSTED: "The broker's certificate does not chain to the trust store.",
  SERVER_CERT_EXPIRED: "The broker's certificate has expired.",
  SERVER_NAME_MISMATCH: "The broker's certificate does not name the host connected to.",
  SERVER_CERT_REVOKED: "The broker's certificate is revoked.",
  PINNED_CERT_MISMATCH: "The broker's key is not one of the pinned keys.",
  CLIENT_CERT_REQUIRED: "The broker requires a client certificate and none was sent.",
  CLIENT_CERT_REJECTED: "The broker refused the client certificate.",
  TLS_VERSION_MISMATCH: "Client and broker share no TLS version.",
  CIPHER_MISMATCH: "Client and broker share no cipher suite.",
  MQTT_CONNECT_REFUSED: "The broker refused the MQTT CONNECT.",
  CONNECT_TIMEOUT: "No answer within the deadline.",
} as const;

/** A stable, SCREAMING_SNAKE finding code from {@link FINDING_CODES}. */
export type FindingCode = keyof typeof FINDING_CODES;

export type Severity = "error" | "warning" | "info";

/** The one result type of every check: static rules, file parsing, device profiles and live connections. */
export interface Finding {
  code: FindingCode;
  severity: Severity;
  /** Where it applies, e.g. a config path (`security.keyStore.privateKey`) or a file name. */
  path?: string;
  /** What is wrong, in the user's words, naming the file or certificate (never a secret). */
  message: string;
  /** What to do, e.g. the exact openssl command. */
  remedy?: string;
  /** IEC 62351-3 reference where one applies. */
  iec?: string;
}

/**
 * Builds a {@link Finding}, leaving out the optional fields that are not given.
 *
 * @example
 * ```ts
 * createFinding("NOT_PEM_DER", "error", "ca.crt is DER", { remedy: "openssl x509 -inform der -in ca.crt -out ca.pem" });
 * ```
 */
export function createFinding(
  code: FindingCode,
  severity: Severity,
  message: string,
  extra: { path?: string | undefined; remedy?: string | undefined; iec?: string | undefined } = {},
): Finding {
  const finding: Finding = { code, severity, message };
  if (extra.path !== undefined) finding.path = extra.path;
  if (extra.remedy !== undefined) finding.remedy = extra.remedy;
  if (extra.iec !== undefined) finding.iec = extra.iec;
  return finding;
}

/**
 * Whether `value` is a code of the catalogue.
 *
 * @example
 * ```ts
 * isFindingCode("CHAIN_INCOMPLETE"); // true
 * ```
 */
export function isFindingCode(value: unknown): value is FindingCode {
  return typeof value === "string" && Object.hasOwn(FINDING_CODES, value);
}

/**
 * Whether any finding is an error.
 *
 * @example
 * ```ts
 * if (hasErrors(result.findings)) process.exitCode = 1;
 * ```
 */
export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === "error");
}
