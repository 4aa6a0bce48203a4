/** How serious a finding is: an error stops a connection or breaks the profile, a warning weakens it, an info notes. */
export type Severity = "error" | "warning" | "info";

/** One entry of the catalogue: what a code means, how serious it is unless a profile says otherwise, what to do. */
export interface CatalogueEntry {
  /** What the code means, in one sentence. */
  readonly meaning: string;
  /** Severity when no profile sets one. */
  readonly severity: Severity;
  /** The remedy a finding gets when the check that raised it has no more precise one. */
  readonly remedy?: string;
  /** The IEC 62351-3 requirement the code is about, where there is one. */
  readonly iec?: string;
}

const TRUST = "Put the CA that issued the broker's certificate into the trust store.";
const REISSUE =
  "Issue the certificate again with a current tool (SHA-256, RSA 2048+ or EC P-256+, version 3).";

const CATALOGUE = {
  // Configuration and files
  TLS_DISABLED: {
    meaning: "TLS is switched off: credentials and data cross the network in clear text.",
    severity: "warning",
    remedy:
      'Set "enableTls": true with a trust store and connect to the broker\'s TLS port (mqtts://, 8883).',
    iec: "IEC 62351-3: TLS protects the communication",
  },
  SERVER_CERT_CHECK_DISABLED: {
    meaning: "The client does not authenticate the broker's certificate.",
    severity: "warning",
    remedy: "Set checkServerCertificate to true and put the broker's CA into the trust store.",
    iec: "IEC 62351-3: mutual authentication",
  },
  CLIENT_CERT_DISABLED: {
    meaning: "The client sends no certificate, so the broker cannot authenticate it by certificate.",
    severity: "info",
  },
  MUTUAL_AUTH_REQUIRED: {
    meaning: "The profile requires both server and client certificate authentication.",
    severity: "error",
    iec: "IEC 62351-3: mutual authentication",
  },
  FIELD_IGNORED: { meaning: "A field is set but has no effect with the current settings.", severity: "info" },
  TRUST_STORE_MISSING: {
    meaning: "The broker's certificate is checked but no trust store is configured.",
    severity: "error",
    remedy: TRUST,
  },
  TRUST_STORE_EMPTY: { meaning: "The trust store holds no certificate.", severity: "error", remedy: TRUST },
  KEY_STORE_MISSING: {
    meaning: "A client certificate is to be sent but no key store is configured.",
    severity: "error",
  },
  FILE_NOT_FOUND: {
    meaning: "A referenced file does not exist.",
    severity: "error",
    remedy: "Check the path: relative paths are read from the configuration file's folder.",
  },
  FILE_UNREADABLE: {
    meaning: "A referenced file exists but cannot be read.",
    severity: "error",
    remedy: "Check the file's permissions for the user this runs as.",
  },
  NOT_PEM_DER: { meaning: "The file is DER (binary) where PEM (text) is required.", severity: "error" },
  NOT_PEM_PKCS12: {
    meaning: "The file is a PKCS#12 (.p12/.pfx) bundle where PEM is required.",
    severity: "error",
  },
  NOT_PEM_PKCS7: { meaning: "The file is a PKCS#7 (.p7b) bundle where PEM is required.", severity: "error" },
  NOT_PEM_BASE64: { meaning: "The file holds base64 without the PEM BEGIN/END lines.", severity: "error" },
  NOT_PEM: { meaning: "The file is empty or not a certificate, key or CRL at all.", severity: "error" },
  PEM_MALFORMED: { meaning: "A PEM block is truncated or garbled.", severity: "error" },
  PEM_UNKNOWN_BLOCK: { meaning: "A PEM block of a kind this tool does not use.", severity: "info" },
  PEM_UNEXPECTED_BLOCK: {
    meaning: "A PEM block of the wrong kind for where it is used (e.g. a key in a trust store).",
    severity: "error",
  },
  KEY_ENCRYPTED_NO_PASSPHRASE: {
    meaning: "The private key is encrypted and no passphrase was given.",
    severity: "error",
    remedy: 'Add "passphrase": "env:KEY_PASSPHRASE" to the key store and set that variable.',
  },
  KEY_PASSPHRASE_WRONG: {
    meaning: "The passphrase does not decrypt the private key (or PKCS#12 bundle).",
    severity: "error",
  },
  KEY_UNSUPPORTED: {
    meaning: "The private key is of a kind or encryption that cannot be used.",
    severity: "error",
  },
  KEY_CERT_MISMATCH: { meaning: "The private key does not belong to the certificate.", severity: "error" },
  CERT_EXPIRED: {
    meaning: "A certificate's validity has ended.",
    severity: "error",
    remedy: "Renew the certificate and install the new one.",
  },
  CERT_NOT_YET_VALID: {
    meaning: "A certificate's validity has not started.",
    severity: "error",
    remedy: "Check this device's clock, or wait until the certificate is valid.",
  },
  CERT_EXPIRES_SOON: {
    meaning: "A certificate expires within the warning period.",
    severity: "warning",
    remedy: "Renew it before then; plan the rollout to every device.",
  },
  CHAIN_INCOMPLETE: {
    meaning: "An intermediate certificate between the leaf and a trusted root is missing.",
    severity: "warning",
    iec: "IEC 62351-3: the full chain is exchanged",
  },
  CHAIN_ORDER: { meaning: "The certificates are not in leaf-to-root order.", severity: "warning" },
  CHAIN_UNTRUSTED: {
    meaning: "The chain ends at a certificate the trust store does not hold.",
    severity: "error",
  },
  CHAIN_TOO_LONG: { meaning: "The chain has more intermediates than allowed.", severity: "error" },
  CERT_SIGNATURE_INVALID: {
    meaning: "A certificate's signature does not verify with its issuer's key.",
    severity: "error",
  },
  CERT_NAME_MISMATCH: {
    meaning: "The certificate does not name the host or address it is used for.",
    severity: "error",
  },
  CERT_NO_SAN: {
    meaning: "A server certificate without a subjectAltName (modern clients ignore the CN).",
    severity: "error",
    remedy: "Issue it again with subjectAltName=DNS:<host>,IP:<address>.",
  },
  CERT_V1: {
    meaning: "A version 1 certificate (no extensions): not acceptable in a TLS chain.",
    severity: "error",
    remedy: REISSUE,
  },
  CERT_SERIAL_INVALID: {
    meaning: "A serial number that is zero, negative or longer than 20 bytes.",
    severity: "error",
    remedy: REISSUE,
  },
  CERT_NAME_INVALID: { meaning: "An empty or malformed subject or issuer name.", severity: "error" },
  CERT_EXTENSION_INVALID: {
    meaning: "An extension that is malformed, duplicated, unknown and critical, or wrongly marked.",
    severity: "error",
  },
  CERT_CA_AS_LEAF: { meaning: "An end-entity certificate that says it is a CA.", severity: "error" },
  KEY_USAGE_INVALID: { meaning: "Key usage bits that do not fit the certificate's role.", severity: "error" },
  PATH_LEN_EXCEEDED: { meaning: "A CA's pathLenConstraint is exceeded.", severity: "error" },
  NAME_CONSTRAINTS_VIOLATED: {
    meaning: "A name outside what a CA's name constraints allow.",
    severity: "error",
  },
  WEAK_KEY: {
    meaning: "A key that is too small or of a forbidden kind.",
    severity: "warning",
    remedy: "Issue a new key and certificate: RSA 2048/3072 or EC P-256/P-384.",
    iec: "IEC 62351-3: RSA 2048 bits or more, EC P-256 or stronger",
  },
  WEAK_SIGNATURE: {
    meaning: "A signature made with a weak or forbidden algorithm (MD5, SHA-1, DSA).",
    severity: "warning",
    remedy: "Have it issued again with SHA-256 or stronger.",
    iec: "IEC 62351-3: SHA-256 or stronger",
  },
  CERT_TOO_LARGE: {
    meaning: "A certificate larger than the size limit.",
    severity: "warning",
    remedy: "Issue it with fewer extensions and names, or a smaller key.",
    iec: "IEC 62351-3: certificates up to 8192 bytes DER",
  },
  EKU_MISMATCH: {
    meaning: "The extended key usage does not allow the certificate's purpose.",
    severity: "error",
  },
  NOT_A_CA: { meaning: "A certificate used as an issuer is not a CA.", severity: "warning" },
  TLS_VERSION_TOO_LOW: {
    meaning: "A TLS version below what the profile allows.",
    severity: "warning",
    iec: "IEC 62351-3: TLS 1.2 minimum",
  },
  URL_SCHEME_MISMATCH: { meaning: "The broker URL's scheme contradicts the TLS setting.", severity: "error" },
  URL_CREDENTIALS: {
    meaning: "The broker URL carries a user name or password, which ends up in logs and process lists.",
    severity: "warning",
    remedy: 'Move them to "username" and "password" (with "env:NAME" for the password).',
  },
  ENV_VAR_MISSING: {
    meaning: "A value refers to an environment variable that is not set.",
    severity: "error",
  },
  UNKNOWN_FIELD: {
    meaning: "A configuration field that does not exist.",
    severity: "warning",
    remedy: "Check the spelling against the JSON Schema; a misspelt field falls back to its default.",
  },
  DEVICE_UNSUPPORTED: { meaning: "The device cannot do what the configuration asks.", severity: "error" },
  FIELD_INVALID: {
    meaning: "A configuration field has a value of the wrong type or outside its range.",
    severity: "error",
  },
  PIN_MALFORMED: {
    meaning: "A pinnedCertificates entry is not of the form sha256/<base64 SHA-256 of the SPKI>.",
    severity: "error",
  },
  SERVER_NAME_OVERRIDE: {
    meaning: "The name checked in the broker's certificate is not the host of the URL.",
    severity: "info",
  },
  SESSION_RENEWAL_INVALID: {
    meaning: "TLS session renewal intervals break the profile's limits.",
    severity: "warning",
    iec: "IEC 62351-3: renegotiate at most every 24 h, resumption interval below it",
  },
  CRL_MISSING: {
    meaning: "No CRL is configured, so revoked broker certificates are not noticed.",
    severity: "warning",
    iec: "IEC 62351-3: revocation checked with CRLs",
  },
  CRL_EXPIRED: {
    meaning: "A CRL is past its nextUpdate: revocations since then are unknown.",
    severity: "warning",
    remedy: "Download the current CRL from the CA.",
    iec: "IEC 62351-3: an unreachable or stale CRL is a warning, never a drop",
  },
  CRL_INCOMPLETE: {
    meaning:
      "CRLs are checked but a CA of the broker's chain has none: the TLS stack checks every CA of the chain, so every handshake fails (UNABLE_TO_GET_CRL).",
    severity: "error",
    remedy: "Add the CRL of each CA named (root and intermediates), or no CRL at all.",
    iec: "IEC 62351-3: revocation checked with CRLs",
  },
  CRL_STALE: {
    meaning: "A CRL is older than the profile allows.",
    severity: "warning",
    remedy: "Download the current CRL from the CA, and refresh it more often (crlRefreshHours).",
    iec: "IEC 62351-3: an unreachable or stale CRL is a warning, never a drop",
  },
  // Certificate store (store:NAME references, @proj/cert-store)
  STORE_UNAVAILABLE: {
    meaning: "A certificate store is named but cannot be used: none is given, or it cannot be opened.",
    severity: "error",
    remedy:
      "Give the store's location (MQTT_TLS_STORE, or --store URL; default ./mqtt-tls-store.db) and check it exists and is readable.",
  },
  STORE_ITEM_NOT_FOUND: {
    meaning: "The certificate store has no item of that name.",
    severity: "error",
    remedy:
      "List the items with `mqtt-tls store list`, or add it with `mqtt-tls store add NAME --cert FILE`.",
  },
  STORE_ITEM_INVALID: {
    meaning:
      "A store item cannot be used as asked (a key store naming an item without a key) or imported (its files do not hold what the kind needs).",
    severity: "error",
  },
  STORE_PASSPHRASE_MISSING: {
    meaning: "The store's private keys are encrypted and no store passphrase was given.",
    severity: "error",
    remedy:
      "Set MQTT_TLS_STORE_PASSPHRASE for this process (never on the command line: it would show in ps).",
  },
  STORE_PASSPHRASE_WRONG: {
    meaning: "The store passphrase does not open this store; nothing was read or written.",
    severity: "error",
    remedy: "Use the passphrase the store was created with (MQTT_TLS_STORE_PASSPHRASE).",
  },
  // Sparkplug B (@proj/sparkplug)
  SPARKPLUG_ID_INVALID: {
    meaning:
      "A Sparkplug group, edge node, device or host id cannot be a topic level (empty, or holds + # or /): nothing is published with it.",
    severity: "error",
    remedy:
      "Use an id of letters, digits, '-', '_' or '.', without + # or / (it becomes one MQTT topic level).",
  },
  SPARKPLUG_TOPIC_INVALID: {
    meaning:
      "A message arrived on a topic that is not of the Sparkplug B namespace (spBv1.0/group/TYPE/node[/device]).",
    severity: "warning",
  },
  SPARKPLUG_PAYLOAD_INVALID: {
    meaning:
      "A payload is not a Sparkplug B protobuf payload, or breaks its rules (a value that does not match its datatype, an array of the wrong length, a birth without bdSeq).",
    severity: "error",
    remedy:
      "Show what the bytes hold with `mqtt-tls sparkplug decode FILE --json`, and fix the publisher that wrote them.",
  },
  SPARKPLUG_METRIC_UNKNOWN: {
    meaning:
      "A metric name or alias is not in the birth of the node or device it is written to or read from.",
    severity: "error",
    remedy:
      "Use a name (or alias) from the node's NBIRTH or the device's DBIRTH; ask for a rebirth when births changed.",
  },
  SPARKPLUG_SEQ_GAP: {
    meaning:
      "A Sparkplug message arrived with a sequence number out of order, and the gap did not close within the reorder timeout: the host asked for a rebirth.",
    severity: "warning",
  },
  SPARKPLUG_NOT_MUTUAL_TLS: {
    meaning:
      "Sparkplug runs here only over mutual TLS, and the configuration does not both check the broker's certificate and send a client certificate.",
    severity: "error",
    remedy:
      'Set "enableTls", "checkServerCertificate" and "sendClientCertificate" to true, with a trust store and a key store.',
    iec: "IEC 62351-3: mutual authentication",
  },
  SPARKPLUG_BDSEQ_NOT_STORED: {
    meaning:
      "An edge node could not store its next bdSeq: after a restart it may repeat a bdSeq its host has seen, and the host may take the new session's NDEATH for the old one.",
    severity: "warning",
  },
  SPARKPLUG_IDENTITY_MISMATCH: {
    meaning:
      "The client certificate's identity is not the edge node id the configuration publishes as: a broker ACL keyed on the certificate identity drops every message of this node.",
    severity: "error",
    remedy:
      "Issue the edge node a certificate whose CN is its edge node id (mqtt-tls pki issue client --name NODE_ID), or publish as the id the certificate names.",
  },
  // Node-RED's core mqtt-broker + tls-config nodes
  NODE_RED_MQTTS_WITHOUT_TLS: {
    meaning:
      'A core mqtt-broker node has an mqtts:// or wss:// URL with "Use TLS" unticked: Node-RED connects over TLS without checking the broker\'s certificate at all, and ignores its TLS configuration.',
    severity: "error",
    remedy:
      'Tick "Use TLS" on the broker node and choose a TLS configuration with "Verify server certificate" ticked and the broker\'s CA, or use an mqtt-tls-broker node.',
  },
  NODE_RED_CA_UNREADABLE_FALLBACK: {
    meaning:
      "A core tls-config node names a CA file Node-RED cannot read: the node is marked invalid and the connection falls back to the system's CAs instead of the one configured.",
    severity: "error",
    remedy:
      "Give the path of a CA file the Node-RED process can read (check the path and its permissions on the Node-RED host), or upload the CA in the TLS configuration.",
  },
  NODE_RED_VERIFY_OFF: {
    meaning:
      'A core tls-config node has "Verify server certificate" unticked: any broker, or anyone in between, is accepted.',
    severity: "error",
    remedy: 'Tick "Verify server certificate" and give the CA that issued the broker\'s certificate.',
    iec: "IEC 62351-3: mutual authentication",
  },
  NODE_RED_UPLOAD_NOT_PEM: {
    meaning:
      "A file uploaded in a core tls-config node is not PEM: Node-RED reads uploads as UTF-8 text, so a DER or PKCS#12 file arrives corrupted and the TLS stack cannot use it.",
    severity: "error",
    remedy:
      "Convert the file to PEM before uploading (openssl x509 -inform DER -in cert.der -out cert.pem; for PKCS#12, openssl pkcs12 -in file.p12 -out file.pem), or upload it in an mqtt-tls-broker node, which reads DER and PKCS#12.",
  },
  // Live connection
  BROKER_UNREACHABLE: {
    meaning: "No TCP connection to the broker.",
    severity: "error",
    remedy: "Check the broker address and port, that the broker runs, and the firewall.",
  },
  BROKER_NODE_DOWN: {
    meaning: "One entry of a broker list is unreachable while others work.",
    severity: "warning",
  },
  NOT_TLS: {
    meaning: "The broker does not speak TLS on that port.",
    severity: "error",
    remedy: "Use the broker's TLS port (usually 8883).",
  },
  TLS_EXPECTED: { meaning: "The broker expects TLS and received plain MQTT.", severity: "error" },
  SERVER_CERT_UNTRUSTED: {
    meaning: "The broker's certificate does not chain to the trust store.",
    severity: "error",
    remedy: TRUST,
  },
  SERVER_CERT_EXPIRED: { meaning: "The broker's certificate has expired.", severity: "error" },
  SERVER_NAME_MISMATCH: {
    meaning: "The broker's certificate does not name the host connected to.",
    severity: "error",
  },
  SERVER_CERT_REVOKED: { meaning: "The broker's certificate is revoked.", severity: "error" },
  PINNED_CERT_MISMATCH: { meaning: "The broker's key is not one of the pinned keys.", severity: "error" },
  CLIENT_CERT_REQUIRED: {
    meaning: "The broker requires a client certificate and none was sent.",
    severity: "error",
  },
  CLIENT_CERT_REJECTED: { meaning: "The broker refused the client certificate.", severity: "error" },
  CLIENT_CERT_REVOKED: {
    meaning: "The broker says the client certificate is revoked (TLS alert 44).",
    severity: "error",
    remedy: "Issue a new key and certificate for this client and install them.",
  },
  CLIENT_IDENTITY_UNKNOWN: {
    meaning: "The broker maps the client certificate to a user that does not exist.",
    severity: "error",
  },
  TLS_VERSION_MISMATCH: { meaning: "Client and broker share no TLS version.", severity: "error" },
  CIPHER_MISMATCH: { meaning: "Client and broker share no cipher suite.", severity: "error" },
  MQTT_CONNECT_REFUSED: { meaning: "The broker refused the MQTT CONNECT.", severity: "error" },
  TOPIC_INVALID: {
    meaning: "A topic name or filter that MQTT does not allow; a broker closes the connection on it.",
    severity: "error",
    remedy:
      "Wildcards (+ a whole level, # the whole last level) only in subscriptions; 1 to 65,535 UTF-8 bytes.",
  },
  PUBLISH_REJECTED: {
    meaning:
      "The broker refused a message: a PUBACK with an error reason, or the connection closed on it each time.",
    severity: "error",
    remedy:
      "Check that the broker lets this client publish to that topic (its ACL) and the message size it allows.",
  },
  MQTT_VERSION_UNSUPPORTED: {
    meaning: "The broker closes or refuses an MQTT 5 CONNECT; MQTT 3.1.1 works.",
    severity: "error",
    remedy: 'Set "protocolVersion": 4 (MQTT 3.1.1).',
  },
  QOS_DOWNGRADED: { meaning: "The broker granted a lower QoS than asked for.", severity: "warning" },
  CONNECT_TIMEOUT: { meaning: "No answer within the deadline.", severity: "error" },
} as const satisfies Record<string, CatalogueEntry>;

/** A stable, SCREAMING_SNAKE finding code from {@link FINDING_CATALOGUE}. */
export type FindingCode = keyof typeof CATALOGUE;

/**
 * The closed catalogue of finding codes: every code any package of this project emits, with its meaning, default
 * severity and remedy. Codes are public API: new ones may be added, none renamed.
 *
 * @example
 * ```ts
 * FINDING_CATALOGUE.TLS_DISABLED.severity; // "warning" unless a profile says otherwise
 * ```
 */
export const FINDING_CATALOGUE: Readonly<Record<FindingCode, CatalogueEntry>> = CATALOGUE;

/**
 * What each code means, by code: the catalogue's `meaning` column.
 *
 * @example
 * ```ts
 * FINDING_CODES.CHAIN_INCOMPLETE; // "An intermediate certificate between the leaf and a trusted root is missing."
 * ```
 */
export const FINDING_CODES = Object.fromEntries(
  Object.entries(CATALOGUE).map(([code, entry]) => [code, entry.meaning]),
) as Readonly<Record<FindingCode, string>>;

/**
 * Whether `value` is a code of the catalogue.
 *
 * @example
 * ```ts
 * isFindingCode("CHAIN_INCOMPLETE"); // true
 * ```
 */
export function isFindingCode(value: unknown): value is FindingCode {
  return typeof value === "string" && Object.hasOwn(FINDING_CATALOGUE, value);
}

/**
 * The codes that say a file could not be used at all (missing, unreadable, not the format asked for, broken):
 * whatever needed the file follows from one of these.
 *
 * @example
 * ```ts
 * const unusable = findings.filter((f) => FILE_PROBLEM_CODES.has(f.code));
 * ```
 */
export const FILE_PROBLEM_CODES: ReadonlySet<FindingCode> = new Set<FindingCode>([
  "FILE_NOT_FOUND",
  "FILE_UNREADABLE",
  "NOT_PEM",
  "NOT_PEM_DER",
  "NOT_PEM_PKCS12",
  "NOT_PEM_PKCS7",
  "NOT_PEM_BASE64",
  "PEM_MALFORMED",
]);
