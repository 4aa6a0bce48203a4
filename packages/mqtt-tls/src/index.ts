export { diagnose, summarizeChain } from "./diagnose.js";
export type { CertificateSummary, ConnectionFailure } from "./diagnose.js";
export { probe } from "./probe.js";
export type { ProbeOptions, ProbeResult, TlsInfo } from "./probe.js";
export { probeResolved } from "./probe.js";
export { SecureClient, backoffDelay, connectSecure } from "./client.js";
export type { BackoffOptions, ClientState, SecureClientOptions } from "./client.js";
export { MQTT_TLS_ERROR_CODES, MqttTlsError, isMqttTlsError } from "./errors.js";
export type { MqttTlsErrorCode } from "./errors.js";
