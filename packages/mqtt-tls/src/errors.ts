import { CodedError, codedErrorGuard, type FindingCode } from "@proj/findings";

/**
 * Codes an {@link MqttTlsError} carries besides a live finding code: CONFIG_INVALID when validation refused, and
 * STORE_UNUSABLE when a `FileStore`'s folder cannot be used (it is a file, permission is denied, the disk is
 * full or failing: `cause` holds the system error, `remedy` what to do).
 */
export const MQTT_TLS_ERROR_CODES = {
  CONFIG_INVALID: "CONFIG_INVALID",
  STORE_UNUSABLE: "STORE_UNUSABLE",
} as const;

/** A code an {@link MqttTlsError} carries: a live finding code, or one of {@link MQTT_TLS_ERROR_CODES}. */
export type MqttTlsErrorCode = FindingCode | keyof typeof MQTT_TLS_ERROR_CODES;

/**
 * The one error class of `@proj/mqtt-tls`: `code` is the diagnosis (`SERVER_CERT_UNTRUSTED`, `CONNECT_TIMEOUT`,
 * ... or `CONFIG_INVALID`), `findings` the details, `remedy` what to do, `cause` the original error.
 *
 * @example
 * ```ts
 * try { await connectSecure(config); } catch (error) { if (isMqttTlsError(error)) console.error(error.code, error.remedy); }
 * ```
 */
export class MqttTlsError extends CodedError<MqttTlsErrorCode> {
  override readonly name = "MqttTlsError";
}

/**
 * Recognises an {@link MqttTlsError} by name (works across duplicate installs).
 *
 * @example
 * ```ts
 * if (isMqttTlsError(error) && error.code === "CLIENT_CERT_REJECTED") renewCertificate();
 * ```
 */
export const isMqttTlsError: (error: unknown) => error is MqttTlsError =
  codedErrorGuard<MqttTlsError>("MqttTlsError");
