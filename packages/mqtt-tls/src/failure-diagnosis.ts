import type { Finding, FindingCode } from "@proj/findings";
import type { BrokerUrl, ResolvedConfig } from "@proj/security-config";
import { diagnose, explainedBy } from "./diagnose.js";
import { probeResolved } from "./probe.js";
import type { SecurityEvent } from "./security-events.js";
import type { ConnectAttempt } from "./tls-transport.js";

/** Security event mnemonics for failed connections, by diagnosis code. */
const FAILURE_EVENTS: Partial<
  Record<FindingCode, [SecurityEvent["domain"], string, SecurityEvent["severity"]]>
> = {
  SERVER_CERT_UNTRUSTED: ["certificate", "PEER_CERT_UNTRUSTED", "alarm"],
  SERVER_CERT_EXPIRED: ["certificate", "PEER_CERT_EXPIRED", "alarm"],
  SERVER_CERT_REVOKED: ["certificate", "PEER_CERT_REVOKED", "alarm"],
  SERVER_NAME_MISMATCH: ["certificate", "PEER_NAME_MISMATCH", "alarm"],
  PINNED_CERT_MISMATCH: ["certificate", "PEER_PIN_MISMATCH", "alarm"],
  CLIENT_CERT_REQUIRED: ["certificate", "OWN_CERT_MISSING", "alarm"],
  CLIENT_CERT_REJECTED: ["certificate", "OWN_CERT_REJECTED", "alarm"],
  CLIENT_CERT_REVOKED: ["certificate", "OWN_CERT_REVOKED", "alarm"],
  TLS_VERSION_MISMATCH: ["tls", "TLS_VERSION_REFUSED", "alarm"],
  CIPHER_MISMATCH: ["tls", "TLS_CIPHER_REFUSED", "alarm"],
  TLS_EXPECTED: ["tls", "TLS_NOT_USED", "alarm"],
  NOT_TLS: ["tls", "TLS_NOT_OFFERED", "alarm"],
  MQTT_VERSION_UNSUPPORTED: ["connection", "MQTT_VERSION_REFUSED", "alarm"],
  CLIENT_IDENTITY_UNKNOWN: ["certificate", "OWN_IDENTITY_UNKNOWN", "alarm"],
};

/** Codes after which retrying at once cannot help: wait the maximum backoff instead of a retry storm. */
const PERMANENT: ReadonlySet<FindingCode> = new Set<FindingCode>([
  "SERVER_CERT_UNTRUSTED",
  "SERVER_CERT_EXPIRED",
  "SERVER_NAME_MISMATCH",
  "SERVER_CERT_REVOKED",
  "CRL_INCOMPLETE",
  "PINNED_CERT_MISMATCH",
  "CLIENT_CERT_REQUIRED",
  "CLIENT_CERT_REJECTED",
  "CLIENT_CERT_REVOKED",
  "TLS_VERSION_MISMATCH",
  "CIPHER_MISMATCH",
  "TLS_EXPECTED",
  "NOT_TLS",
  "MQTT_CONNECT_REFUSED",
  "MQTT_VERSION_UNSUPPORTED",
  "CLIENT_IDENTITY_UNKNOWN",
]);

/**
 * The security event a failed connection with this diagnosis raises: an alarm for a certificate or TLS refusal,
 * else a `CONNECTION_FAILED` warning.
 *
 * @example
 * ```ts
 * const [domain, mnemonic, severity] = failureEvent("SERVER_CERT_UNTRUSTED"); // certificate, PEER_CERT_UNTRUSTED, alarm
 * ```
 */
export function failureEvent(
  code: FindingCode,
): readonly [SecurityEvent["domain"], string, SecurityEvent["severity"]] {
  return FAILURE_EVENTS[code] ?? ["connection", "CONNECTION_FAILED", "warning"];
}

/**
 * Whether retrying at once cannot help after this diagnosis (a certificate, credentials, a TLS version): the
 * reconnect then waits the longest backoff.
 *
 * @example
 * ```ts
 * isPermanent("CLIENT_CERT_REJECTED"); // true
 * isPermanent("CONNECT_TIMEOUT"); // false
 * ```
 */
export function isPermanent(code: FindingCode): boolean {
  return PERMANENT.has(code);
}

/**
 * Diagnoses a failed connection attempt. An attempt that ran out of its deadline (`broker.connectTimeoutMs`) is
 * named by how far it got (TCP, TLS, MQTT) without probing for as long again; any other failure is probed once,
 * as the handshake error alone cannot tell a wrong CA from a missing one. The finding carries `causedBy` when
 * one of `explainWith` explains it.
 *
 * @example
 * ```ts
 * const finding = await diagnoseFailure(transport.attempt, resolved, transport.url, configFindings);
 * ```
 */
export async function diagnoseFailure(
  attempt: ConnectAttempt | undefined,
  resolved: ResolvedConfig,
  url: BrokerUrl,
  explainWith: readonly Finding[],
  now = Date.now(),
): Promise<Finding> {
  const timeoutMs = resolved.config.broker.connectTimeoutMs;
  // (WebSocket attempts do not say how far they got: those are probed.)
  if (attempt && !url.scheme.startsWith("ws") && now - attempt.started >= timeoutMs - 50) {
    const failure = {
      phase: !attempt.connected ? "tcp" : attempt.secured || !url.tls ? "mqtt" : "tls",
      timedOut: true,
      timeoutMs,
    } as const;
    return explainedBy(diagnose(failure, resolved, url), explainWith);
  }
  const result = await probeResolved(resolved, url, Math.min(timeoutMs, 5000));
  const finding =
    result.findings[0] ??
    diagnose({ phase: "mqtt", message: "the connection closed before CONNACK" }, resolved, url);
  return explainedBy(finding, explainWith);
}
