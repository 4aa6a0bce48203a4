import { FILE_PROBLEM_CODES, createFinding, type Finding, type FindingCode } from "@proj/findings";
import { encodePem, inspectCertificate, verifyChain } from "@proj/pem";
import { defaultPort, type BrokerUrl, type ResolvedConfig } from "@proj/security-config";
import type { PeerCertificate } from "node:tls";

/** One certificate the broker presented, summarised. */
export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly fingerprint256: string;
  /** DER size in bytes (IEC 62351-3 limits certificates to 8192). */
  readonly derBytes: number;
  readonly pem: string;
}

/** What a failed connection attempt came to, as observed. */
export interface ConnectionFailure {
  /** How far it got. */
  readonly phase: "tcp" | "tls" | "mqtt";
  /** The first error (Node, OpenSSL alert, or a verification code), if any. */
  readonly code?: string | undefined;
  readonly message?: string | undefined;
  /** The TLS handshake completed (TLS 1.3 reports a refused client certificate only after this). */
  readonly handshakeDone?: boolean;
  /** The deadline passed. */
  readonly timedOut?: boolean;
  /** The CONNACK return code (MQTT 3.1.1) or reason code (MQTT 5) when the broker refused. */
  readonly connackCode?: number | undefined;
  /** Why the broker refused, in its words: a CONNACK's reason string (MQTT 5), or the body of a refused upgrade. */
  readonly reasonString?: string | undefined;
  /** A plain connection received a TLS record: the port speaks TLS. */
  readonly tlsOnPlainPort?: boolean;
  /** A TLS connection found a plain MQTT listener (it answered MQTT to the same port). */
  readonly plainOnTlsPort?: boolean;
  /** The HTTP status with which the WebSocket upgrade was refused (ws://, wss://). */
  readonly upgradeRefused?: number;
  /** The chain the broker presented, leaf first (when the handshake got that far). */
  readonly peerChain?: readonly CertificateSummary[];
  readonly timeoutMs?: number;
  /** This side's TLS stack refused its own key or certificate before connecting (`code` says why). */
  readonly localKey?: boolean;
  /**
   * An MQTT 5 CONNECT got no CONNACK (the socket closed) while an MQTT 3.1.1 CONNECT over the same path got one:
   * the broker does not speak MQTT 5. `v4Answer` is what 3.1.1 got (0: accepted, else its CONNACK code).
   */
  readonly versionUnsupported?: { readonly v4Answer: number };
}

const CONNACK_V3: Readonly<Record<number, string>> = {
  1: "unacceptable protocol version",
  2: "client identifier rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorized",
};
const CONNACK_V5: Readonly<Record<number, string>> = {
  128: "unspecified error",
  129: "malformed packet",
  130: "protocol error",
  132: "unsupported protocol version",
  133: "client identifier not valid",
  134: "bad user name or password",
  135: "not authorized",
  136: "server unavailable",
  137: "server busy",
  138: "banned",
  140: "bad authentication method",
};

const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_CHAIN_TOO_LONG",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "INVALID_PURPOSE",
]);

/**
 * Summarises the chain from `getPeerCertificate(true)`: subject, issuer, validity, fingerprint, size, PEM.
 *
 * @example
 * ```ts
 * socket.once("secureConnect", () => console.log(summarizeChain(socket.getPeerCertificate(true))));
 * ```
 */
export function summarizeChain(leaf: PeerCertificate | undefined): CertificateSummary[] {
  const chain: CertificateSummary[] = [];
  for (let cert = leaf, depth = 0; cert && cert.raw && depth < 10; depth++) {
    const pem = encodePem(cert.raw);
    const info = inspectCertificate(cert.raw);
    chain.push({
      subject: info.subject.oneLine,
      issuer: info.issuer.oneLine,
      validFrom: info.notBefore.toISOString(),
      validTo: info.notAfter.toISOString(),
      fingerprint256: info.fingerprints.sha256,
      derBytes: info.derSize,
      pem,
    });
    const issuer = (cert as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
    if (!issuer || issuer === cert || issuer.fingerprint256 === cert.fingerprint256) break;
    cert = issuer;
  }
  return chain;
}

function finding(code: FindingCode, message: string, remedy?: string): Finding {
  return createFinding(code, "error", message, { remedy });
}

function where(url: BrokerUrl): string {
  return `${url.host}:${defaultPort(url)}`;
}

/** Why the broker's chain is not trusted, told from the inputs (OpenSSL says the same for a wrong and a missing CA). */
function untrusted(failure: ConnectionFailure, resolved: ResolvedConfig): Finding {
  const trusted = resolved.trustStore?.store.anchors.map((a) => a.info().subject.oneLine) ?? [];
  if (trusted.length === 0) {
    return finding(
      "SERVER_CERT_UNTRUSTED",
      "The broker's certificate cannot be checked: the trust store is missing or empty.",
      'Put the CA that issued the broker\'s certificate into "trustStore".',
    );
  }
  const chain = failure.peerChain ?? [];
  if (chain.length === 0) {
    return finding(
      "SERVER_CERT_UNTRUSTED",
      `The broker's certificate does not chain to the trust store (${failure.code}).`,
      "Check that the trust store holds the CA that issued the broker's certificate.",
    );
  }
  const verdict = verifyChain({
    leaf: chain[0]!.pem,
    intermediates: chain.slice(1).map((c) => c.pem),
    trusted: resolved.trustStore!.pems.slice(),
    strict: false,
  });
  const top = chain.at(-1)!;
  const sameName = resolved.trustStore!.store.anchors.some(
    (a) =>
      a.info().subject.oneLine === top.issuer &&
      !chain.some((c) => c.fingerprint256 === a.info().fingerprints.sha256),
  );
  if (verdict.findings.some((f) => f.code === "CHAIN_INCOMPLETE") && !top.issuer.includes(top.subject)) {
    return finding(
      "SERVER_CERT_UNTRUSTED",
      `The broker sends "${chain[0]!.subject}" without its intermediate "${chain[0]!.issuer}", and the trust store does not hold it either (trust store: ${trusted.map((t) => `"${t}"`).join(", ")}).`,
      `Add the intermediate "${chain[0]!.issuer}" to the trust store, or configure the broker to send its full chain (Mosquitto: certfile with the intermediate after the certificate).`,
    );
  }
  if (sameName) {
    return finding(
      "SERVER_CERT_UNTRUSTED",
      `The trust store holds a CA named "${top.issuer}", but not the one that signed the broker's certificate: same name, another key (an old or a rebuilt CA).`,
      "Export the current CA certificate from the CA that issued the broker's certificate, and replace the one in the trust store.",
    );
  }
  return finding(
    "SERVER_CERT_UNTRUSTED",
    `The broker's certificate "${chain[0]!.subject}" comes from "${top.issuer === top.subject ? top.subject : top.issuer}", which the trust store does not hold: it holds ${trusted.map((t) => `"${t}"`).join(", ")} (the wrong CA).`,
    `Put the root "${top.issuer}" into the trust store, if that broker is the one you mean to connect to.`,
  );
}

/** The client's own key refused by Node's TLS stack before anything was sent: a local problem, named as such. */
function localKeyRefused(failure: ConnectionFailure): Finding {
  const code = failure.code ?? "";
  const path = "security.keyStore.privateKey";
  if (/BAD_DECRYPT|INTERRUPTED_OR_CANCELLED|bad decrypt/i.test(`${code} ${failure.message ?? ""}`))
    return createFinding(
      "KEY_PASSPHRASE_WRONG",
      "error",
      "The private key could not be decrypted with the passphrase given (or none was given).",
      {
        path,
        remedy: 'Set "passphrase" in the key store to the key\'s passphrase (with "env:NAME").',
      },
    );
  if (/KEY_VALUES_MISMATCH/.test(code))
    return createFinding(
      "KEY_CERT_MISMATCH",
      "error",
      "The private key does not belong to the client certificate.",
      {
        path,
        remedy: "Use the key the certificate was issued for.",
      },
    );
  if (/KEY_TOO_SMALL|CA_MD_TOO_WEAK|EE_KEY_TOO_SMALL/.test(code))
    return createFinding(
      "WEAK_KEY",
      "error",
      `This system's OpenSSL refuses the client's key or certificate as too weak (${code}).`,
      {
        path: "security.keyStore",
        remedy: "Issue a new key and certificate: RSA 2048/3072 or EC P-256/P-384.",
      },
    );
  return createFinding(
    "KEY_UNSUPPORTED",
    "error",
    `The client's key or certificate cannot be used (${code || failure.message || "refused"}).`,
    {
      path: "security.keyStore",
      remedy:
        "Check that the key store's certificate and key are PEM, DER or PKCS#12 files of a supported key type.",
    },
  );
}

/** Codes of the configuration that explain why the broker refused the client's certificate. */
const CLIENT_SIDE_CAUSES: ReadonlySet<FindingCode> = new Set<FindingCode>([
  "KEY_STORE_MISSING",
  "KEY_CERT_MISMATCH",
  "KEY_ENCRYPTED_NO_PASSPHRASE",
  "KEY_PASSPHRASE_WRONG",
  "KEY_UNSUPPORTED",
  "CERT_EXPIRED",
  "CERT_NOT_YET_VALID",
  "EKU_MISMATCH",
  "CHAIN_ORDER",
  "CHAIN_INCOMPLETE",
  "WEAK_KEY",
  "WEAK_SIGNATURE",
  ...FILE_PROBLEM_CODES,
  "PEM_UNEXPECTED_BLOCK",
]);

/** Which findings of the configuration can explain a live failure, by the failure's code. */
function explains(live: FindingCode, finding: Finding): boolean {
  const path = finding.path ?? "";
  switch (live) {
    case "CLIENT_CERT_REJECTED":
    case "CLIENT_CERT_REQUIRED":
    case "CLIENT_CERT_REVOKED":
      return (
        (path.startsWith("security.keyStore") && CLIENT_SIDE_CAUSES.has(finding.code)) ||
        finding.code === "KEY_STORE_MISSING" ||
        (finding.code === "CLIENT_CERT_DISABLED" && live === "CLIENT_CERT_REQUIRED")
      );
    case "SERVER_CERT_UNTRUSTED":
    case "SERVER_CERT_EXPIRED":
      return (
        finding.severity === "error" &&
        (path.startsWith("security.trustStore") || finding.code === "TRUST_STORE_MISSING")
      );
    case "SERVER_CERT_REVOKED":
      return path.startsWith("security.crl") && finding.severity === "error";
    case "TLS_VERSION_MISMATCH":
      return finding.code === "DEVICE_UNSUPPORTED" && path.includes("TlsVersion");
    default:
      return false;
  }
}

/**
 * A live diagnosis linked to the finding of the configuration that explains it (`causedBy`), with a remedy that
 * sends the reader there first: a broker that refuses a client whose key does not match its certificate, or whose
 * chain is in the wrong order, is a consequence, not a second problem.
 *
 * @example
 * ```ts
 * const finding = explainedBy(diagnose(failure, loaded.resolved!, url), loaded.findings);
 * finding.causedBy; // "KEY_CERT_MISMATCH"
 * ```
 */
export function explainedBy(live: Finding, configuration: readonly Finding[]): Finding {
  if (configuration.some((f) => f.code === live.code && f.path === live.path)) return live;
  // The cause is the first finding that explains it: reports are ordered cause first.
  const cause = configuration.find((f) => f.code !== live.code && explains(live.code, f));
  if (!cause) return live;
  return createFinding(live.code, live.severity, live.message, {
    path: live.path,
    remedy: `This follows from ${cause.code}${cause.path ? ` (${cause.path})` : ""}: fix that first.${live.remedy ? ` Then, if it persists: ${live.remedy}` : ""}`,
    iec: live.iec,
    causedBy: cause.code,
  });
}

function clientCertificateRefused(
  failure: ConnectionFailure,
  resolved: ResolvedConfig,
  why: string,
): Finding {
  const leafPem = resolved.keyStore?.chain[0];
  const leaf = leafPem ? inspectCertificate(leafPem) : undefined;
  const name = leaf ? `"${leaf.subject.oneLine}"` : "the client certificate";
  const now = new Date();
  const local =
    leaf && now > leaf.notAfter
      ? ` It expired on ${leaf.notAfter.toISOString()}.`
      : leaf && now < leaf.notBefore
        ? ` It is valid only from ${leaf.notBefore.toISOString()}.`
        : "";
  return finding(
    "CLIENT_CERT_REJECTED",
    `The broker refused ${name}: ${why}.${local}`,
    {
      expired: "Renew the client certificate and install the new one.",
      revoked: "The broker's CRL lists this certificate: issue a new one (new key) and install it.",
      unknown: `Have the client certificate issued by a CA the broker trusts${leaf ? ` (it was issued by "${leaf.issuer.oneLine}")` : ""}, or add that CA to the broker's cafile.`,
      other:
        "Check the client certificate against the broker's CA, its validity and its extendedKeyUsage (clientAuth).",
    }[
      failure.code?.includes("EXPIRED") || local.includes("expired")
        ? "expired"
        : failure.code?.includes("REVOKED")
          ? "revoked"
          : failure.code?.includes("UNKNOWN_CA")
            ? "unknown"
            : "other"
    ],
  );
}

/**
 * CRLs are checked and a CA of the broker's chain has none: Node checks every CA of the chain. Names the issuers of
 * the presented chain (the root included: it issued the topmost intermediate) that no configured CRL comes from.
 */
function crlIncomplete(failure: ConnectionFailure, resolved: ResolvedConfig): Finding {
  const withCrl = new Set(resolved.crls.map((c) => c.info.issuer));
  const issuers = (failure.peerChain ?? []).flatMap((c) => {
    try {
      const info = inspectCertificate(c.pem);
      return info.subject.oneLine === info.issuer.oneLine ? [] : [info.issuer.oneLine];
    } catch {
      return [];
    }
  });
  const missing = [...new Set(issuers)].filter((issuer) => !withCrl.has(issuer));
  const named = missing.length > 0 ? missing.map((m) => `"${m}"`).join(", ") : "a CA of the broker's chain";
  return finding(
    "CRL_INCOMPLETE",
    `The broker's certificate could not be checked for revocation: there is no CRL from ${named} (UNABLE_TO_GET_CRL). The broker is not at fault.`,
    `Add the CRL of ${missing.length > 1 ? "each of those CAs" : "that CA"} to "crl" (the root's too: it issued the intermediate), or check no CRL at all.`,
  );
}

/** The broker's CRL lists this side's certificate (a TLS alert from Mosquitto, a reason from the dev broker). */
function clientCertificateRevoked(): Finding {
  return finding(
    "CLIENT_CERT_REVOKED",
    "The broker refused the client certificate: its CRL lists it as revoked.",
    "Issue a new certificate (with a new key) for this device and install it; a revoked certificate cannot be reinstated.",
  );
}

/** The verification error a broker names in its reason ("client certificate refused: CERT_REVOKED"). */
const REFUSED_CERTIFICATE = /^client certificate refused: ([A-Z0-9_]+)$/;

/**
 * A refusal that is about the client certificate: the broker said so in its reason (the dev broker does, in a
 * CONNACK "not authorized" over MQTT 5 and in a refused WebSocket upgrade), or a CONNACK "not authorized" came while
 * this side's own certificate is out of its validity period (which explains it).
 */
function certificateRefusal(failure: ConnectionFailure, resolved: ResolvedConfig): Finding | undefined {
  const notAuthorized = failure.connackCode === 5 || failure.connackCode === 135;
  if (!notAuthorized && failure.upgradeRefused !== 403) return undefined;
  const reason = failure.reasonString ?? "";
  if (reason === "client sent no certificate") {
    return finding(
      "CLIENT_CERT_REQUIRED",
      "The broker requires a client certificate and none was sent.",
      'Set "sendClientCertificate": true with a key store issued by a CA the broker trusts.',
    );
  }
  const verifyCode = REFUSED_CERTIFICATE.exec(reason)?.[1];
  if (verifyCode === "CERT_REVOKED") return clientCertificateRevoked();
  if (verifyCode !== undefined) {
    const expired = verifyCode === "CERT_HAS_EXPIRED";
    const unknownCa = /ISSUER|UNABLE_TO_VERIFY|SELF_SIGNED/.test(verifyCode);
    const why = expired
      ? "its certificate has expired"
      : unknownCa
        ? "the broker does not know the CA that issued it"
        : `it did not verify (${verifyCode})`;
    // clientCertificateRefused picks its remedy from the code, as it does for TLS alerts.
    const code = expired ? "CERTIFICATE_EXPIRED" : unknownCa ? "UNKNOWN_CA" : verifyCode;
    return clientCertificateRefused({ ...failure, code }, resolved, why);
  }
  if (!notAuthorized) return undefined;
  const leafPem = resolved.config.security.sendClientCertificate ? resolved.keyStore?.chain[0] : undefined;
  const leaf = leafPem ? inspectCertificate(leafPem) : undefined;
  const now = new Date();
  if (leaf && (now > leaf.notAfter || now < leaf.notBefore)) {
    return clientCertificateRefused(failure, resolved, 'the broker answered CONNECT with "not authorized"');
  }
  return undefined;
}

/**
 * The broker does not speak MQTT 5: it closed the socket on an MQTT 5 CONNECT where 3.1.1 got a CONNACK (RabbitMQ
 * 3.x), or it answered "unacceptable protocol version" (aedes, older Mosquitto). Without this, a closed socket after
 * the TLS handshake reads as a refused client certificate.
 */
function mqttVersionRefused(failure: ConnectionFailure, resolved: ResolvedConfig): Finding | undefined {
  if (resolved.config.broker.protocolVersion !== 5) return undefined;
  const refusedVersion = failure.connackCode === 1 || failure.connackCode === 132;
  if (!failure.versionUnsupported && !refusedVersion) return undefined;
  const v4 = failure.versionUnsupported?.v4Answer;
  const how = refusedVersion
    ? `answered the MQTT 5 CONNECT with "unsupported protocol version" (CONNACK ${failure.connackCode})`
    : `closed the connection on the MQTT 5 CONNECT, while an MQTT 3.1.1 CONNECT ${v4 === 0 ? "was accepted" : `got an answer (CONNACK ${v4}: ${CONNACK_V3[v4!] ?? "refused"})`}`;
  return finding(
    "MQTT_VERSION_UNSUPPORTED",
    `The broker does not speak MQTT 5: it ${how}. The certificates are not the problem.`,
    'Set "protocolVersion": 4 (MQTT 3.1.1) in the broker settings; RabbitMQ 3.x speaks only 3.1.1 (MQTT 5 comes with RabbitMQ 3.13).',
  );
}

/** The common name of the certificate this side sends, if it sends one. */
function clientCommonName(resolved: ResolvedConfig): { cn: string | undefined; subject: string } | undefined {
  const leafPem = resolved.config.security.sendClientCertificate ? resolved.keyStore?.chain[0] : undefined;
  const leaf = leafPem ? inspectCertificate(leafPem) : undefined;
  if (!leaf) return undefined;
  const cn = leaf.subject.parts.find((part) => part.type === "CN")?.value;
  return { cn, subject: leaf.subject.oneLine };
}

/**
 * The broker took the user name from the client certificate (no username was sent) and has no such user:
 * RabbitMQ's `ssl_cert_login` answers CONNACK 4 (bad user name or password) or 5 (not authorized), Mosquitto's
 * `use_identity_as_username` with a password file likewise.
 */
function identityUnknown(failure: ConnectionFailure, resolved: ResolvedConfig): Finding | undefined {
  const code = failure.connackCode;
  if (code === undefined || ![4, 5, 134, 135].includes(code)) return undefined;
  if (resolved.config.broker.username !== undefined || failure.reasonString !== undefined) return undefined;
  const identity = clientCommonName(resolved);
  if (!identity) return undefined;
  const user = identity.cn ?? identity.subject;
  const quoted = `'${user.replace(/'/g, "'\\''")}'`;
  return finding(
    "CLIENT_IDENTITY_UNKNOWN",
    `The broker refused the CONNECT (CONNACK ${code}) after the TLS handshake with the client certificate passed, and no username was sent: a broker that takes the user name from the certificate (RabbitMQ ssl_cert_login) has no user "${user}" or gives it no rights; otherwise the broker wants a username and password.`,
    `Create the user on the broker. RabbitMQ (ssl_cert_login_from = common_name): rabbitmqctl add_user ${quoted} "$(openssl rand -hex 24)" && rabbitmqctl clear_password ${quoted} && rabbitmqctl set_permissions -p / ${quoted} '.*' '.*' '.*' (with ssl_cert_login_from = distinguished_name, RabbitMQ's default, the user name is the whole subject as its log shows it). Mosquitto (use_identity_as_username): add "user ${user}" with its topics to the ACL file. A broker without certificate login: set "username" and "password".`,
  );
}

/**
 * Names a failed connection with a live finding code, a message and a remedy. It looks at the configuration to
 * tell apart what OpenSSL reports alike: a wrong and a missing CA, a client certificate refused for expiry,
 * revocation or an unknown CA, TLS to a plain port and plain MQTT to a TLS port, a silent server.
 *
 * @example
 * ```ts
 * const finding = diagnose({ phase: "tls", code: "CERT_HAS_EXPIRED" }, resolved, resolved.urls[0]!);
 * finding.code; // "SERVER_CERT_EXPIRED"
 * ```
 */
export function diagnose(failure: ConnectionFailure, resolved: ResolvedConfig, url: BrokerUrl): Finding {
  const { security } = resolved.config;
  const code = failure.code ?? "";
  const text = `${code} ${failure.message ?? ""}`;

  if (failure.localKey) return localKeyRefused(failure);
  const refusedCertificate = certificateRefusal(failure, resolved);
  if (refusedCertificate) return refusedCertificate;
  if (failure.upgradeRefused !== undefined) {
    const path = new URL(url.raw).pathname;
    return finding(
      "BROKER_UNREACHABLE",
      `${where(url)} answered HTTP ${failure.upgradeRefused} to the WebSocket upgrade at ${path}: no MQTT-over-WebSocket listener there.`,
      "Check the URL's path (often /mqtt) and that the broker's listener speaks WebSockets (Mosquitto: protocol websockets).",
    );
  }
  if (failure.tlsOnPlainPort) {
    return finding(
      "TLS_EXPECTED",
      `${where(url)} speaks TLS, but the client sent plain MQTT (${url.display}).`,
      `Use mqtts://${where(url)} with enableTls: true: never fall back to plain MQTT.`,
    );
  }
  if (failure.plainOnTlsPort) {
    return finding(
      "NOT_TLS",
      `${where(url)} answers plain MQTT, not TLS: it is not a TLS listener.`,
      "Use the broker's TLS port (usually 8883), or enable a TLS listener on the broker (Mosquitto: listener 8883 with cafile/certfile/keyfile).",
    );
  }
  if (failure.timedOut) {
    const stage = {
      tcp: "the TCP connection was not established",
      tls: "the broker accepted TCP but did not answer the TLS handshake",
      mqtt: "the broker did not answer CONNECT with a CONNACK",
    }[failure.phase];
    return finding(
      "CONNECT_TIMEOUT",
      `No answer from ${where(url)} within ${failure.timeoutMs ?? 10_000} ms: ${stage}.`,
      failure.phase === "tcp"
        ? "Check the address, the port and any firewall between."
        : failure.phase === "tls"
          ? "Check that this port is a TLS listener (a plain MQTT listener waits silently for a CONNECT)."
          : "Check the broker's log; it may be overloaded or waiting for something else.",
    );
  }
  const versionRefused = mqttVersionRefused(failure, resolved);
  if (versionRefused) return versionRefused;
  const identity = identityUnknown(failure, resolved);
  if (identity) return identity;
  if (failure.connackCode !== undefined) {
    const v5 = resolved.config.broker.protocolVersion === 5;
    const reason = (v5 ? CONNACK_V5 : CONNACK_V3)[failure.connackCode] ?? `code ${failure.connackCode}`;
    const credentials = failure.connackCode === 4 || failure.connackCode === 134;
    return finding(
      "MQTT_CONNECT_REFUSED",
      `The broker refused the MQTT connection: ${reason} (CONNACK ${failure.connackCode}).`,
      credentials
        ? "Check the username and password (env: variables set for this process?); with use_identity_as_username, the username is the certificate's CN."
        : failure.connackCode === 5 || failure.connackCode === 135
          ? "The broker's ACL or authentication plugin refused this client: check clientId, username and certificate identity."
          : "Check the broker's log for why.",
    );
  }
  if (
    /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EADDRNOTAVAIL/.test(code) &&
    failure.phase === "tcp"
  ) {
    return finding(
      "BROKER_UNREACHABLE",
      `No connection to ${where(url)} (${code}): ${code === "ECONNREFUSED" ? "nothing listens on that port" : code === "ENOTFOUND" ? "the name does not resolve" : "the host cannot be reached"}.`,
      "Check the broker address and port, that the broker runs, and the firewall.",
    );
  }
  if (code === "PINNED_CERT_MISMATCH") {
    return finding(
      "PINNED_CERT_MISMATCH",
      `The broker at ${where(url)} presented a key that is not pinned.`,
      "If the broker's key was changed on purpose, add the new certificate's spkiPin to pinnedCertificates; otherwise do not connect.",
    );
  }
  if (code === "CERT_HAS_EXPIRED") {
    const expired = failure.peerChain?.find((c) => new Date(c.validTo) < new Date());
    return finding(
      "SERVER_CERT_EXPIRED",
      `The broker's certificate ${expired ? `"${expired.subject}" expired on ${expired.validTo}` : "has expired"}.`,
      "Renew the broker's certificate (or check this device's clock).",
    );
  }
  if (code === "CERT_NOT_YET_VALID") {
    return finding(
      "SERVER_CERT_UNTRUSTED",
      "The broker's certificate is not valid yet: this device's clock may be behind.",
      "Set the clock (NTP), or wait until the certificate is valid.",
    );
  }
  if (code === "UNABLE_TO_GET_CRL") return crlIncomplete(failure, resolved);
  if (code === "CERT_REVOKED") {
    return finding(
      "SERVER_CERT_REVOKED",
      "The broker's certificate is revoked by the configured CRL.",
      "Do not connect: have the broker's certificate replaced, then update the CRL.",
    );
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    const names = failure.peerChain?.[0]
      ? inspectCertificate(failure.peerChain[0].pem).subjectAltNames
      : undefined;
    const held = names ? [...names.dns, ...names.ip].join(", ") || "no names" : "other names";
    const expected = security.serverName ?? url.host;
    const dnsOnly = url.isIp && names !== undefined && names.ip.length === 0 && names.dns.length > 0;
    return finding(
      "SERVER_NAME_MISMATCH",
      `The broker's certificate names ${held}, not ${expected}.`,
      dnsOnly
        ? `The URL uses the IP address ${url.host} and the certificate names only DNS hosts: set "serverName": "${names.dns[0]}", or reissue the certificate with IP:${url.host}.`
        : `Connect with a name the certificate holds, set "serverName", or reissue the certificate with the right subjectAltName.`,
    );
  }
  if (UNTRUSTED.has(code)) return untrusted(failure, resolved);
  if (
    /UNSUPPORTED_PROTOCOL|PROTOCOL_VERSION|NO_PROTOCOLS_AVAILABLE|VERSION_TOO_LOW|VERSION_TOO_HIGH/.test(text)
  ) {
    return finding(
      "TLS_VERSION_MISMATCH",
      `Client (${security.minTlsVersion} to ${security.maxTlsVersion}) and broker share no TLS version.`,
      "Find the versions the broker allows (Mosquitto tls_version is a minimum) and overlap them; a device that speaks only TLS 1.2 needs a broker that still offers 1.2.",
    );
  }
  if (
    /NO_SHARED_CIPHER|no shared cipher|NO_CIPHERS|no ciphers|HANDSHAKE_FAILURE/i.test(text) &&
    security.ciphers
  ) {
    return finding(
      "CIPHER_MISMATCH",
      `Client and broker share no cipher suite (client: ${security.ciphers}).`,
      "Allow a suite the broker offers, e.g. ECDHE-ECDSA-AES128-GCM-SHA256 or ECDHE-RSA-AES128-GCM-SHA256 for TLS 1.2.",
    );
  }
  if (
    /WRONG_VERSION_NUMBER|wrong version number|PACKET_LENGTH_TOO_LONG|packet length too long|unknown protocol/i.test(
      text,
    )
  ) {
    return finding(
      "NOT_TLS",
      `${where(url)} did not answer the TLS handshake with TLS: it is probably a plain MQTT port.`,
      "Use the broker's TLS port (usually 8883).",
    );
  }
  // Client certificate refusals: Mosquitto sends an alert; a Node-based broker just closes after the handshake.
  if (
    /CERTIFICATE_REQUIRED|PEER_DID_NOT_RETURN/i.test(text) ||
    (!security.sendClientCertificate &&
      failure.phase !== "tcp" &&
      (failure.handshakeDone || /HANDSHAKE_FAILURE/.test(text)))
  ) {
    return finding(
      "CLIENT_CERT_REQUIRED",
      "The broker requires a client certificate and none was sent.",
      'Set "sendClientCertificate": true with a key store issued by a CA the broker trusts.',
    );
  }
  if (/CERTIFICATE_EXPIRED/.test(text))
    return clientCertificateRefused(failure, resolved, "its certificate has expired");
  if (/CERTIFICATE_REVOKED/.test(text)) return clientCertificateRevoked();
  if (/UNKNOWN_CA/.test(text))
    return clientCertificateRefused(failure, resolved, "the broker does not know the CA that issued it");
  if (
    /BAD_CERTIFICATE|UNSUPPORTED_CERTIFICATE|CERTIFICATE_UNKNOWN|DECRYPT_ERROR/.test(text) ||
    (security.sendClientCertificate && failure.handshakeDone)
  ) {
    return clientCertificateRefused(
      failure,
      resolved,
      failure.handshakeDone && !/ALERT/.test(text)
        ? "it closed the connection right after the handshake, without saying why"
        : "it rejected the certificate",
    );
  }
  if (failure.phase === "tls" && /ECONNRESET|socket disconnected|EPIPE/i.test(text)) {
    return finding(
      "NOT_TLS",
      `${where(url)} closed the connection during the TLS handshake: it may not be a TLS port.`,
      "Check that the port is the broker's TLS listener.",
    );
  }
  if (failure.phase === "tls" && /^ERR_SSL_/.test(code) && !/ALERT/.test(code)) {
    // Not an alert from the broker, not a plain listener: the TLS records themselves did not make sense.
    return finding(
      "BROKER_UNREACHABLE",
      `The TLS data from ${where(url)} was damaged or not understood (${code}): something on the path alters the traffic.`,
      "Look for a device between client and broker that changes bytes (a TLS-inspecting firewall or proxy, a faulty link or NAT); connect without it, or from the broker's own network, to confirm.",
    );
  }
  return finding(
    "BROKER_UNREACHABLE",
    `The connection to ${where(url)} failed (${code || failure.message || "closed"}) in the ${failure.phase} phase.`,
    "Check the broker's log for the reason.",
  );
}
