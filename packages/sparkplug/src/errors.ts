import { CodedError, codedErrorGuard } from "@proj/findings";

/** Codes a {@link SparkplugError} carries: the finding codes of Sparkplug, and what a closed client refuses. */
export const SPARKPLUG_ERROR_CODES = {
  /** Bytes that are no Sparkplug B payload, or a value that does not fit its datatype. */
  SPARKPLUG_PAYLOAD_INVALID: "SPARKPLUG_PAYLOAD_INVALID",
  /** A group, edge node, device or host id that cannot be a topic level. */
  SPARKPLUG_ID_INVALID: "SPARKPLUG_ID_INVALID",
  /** A topic outside the Sparkplug B namespace. */
  SPARKPLUG_TOPIC_INVALID: "SPARKPLUG_TOPIC_INVALID",
  /** A metric (name or alias) that the node's or device's birth does not have. */
  SPARKPLUG_METRIC_UNKNOWN: "SPARKPLUG_METRIC_UNKNOWN",
  /** The configuration is not mutual TLS. */
  SPARKPLUG_NOT_MUTUAL_TLS: "SPARKPLUG_NOT_MUTUAL_TLS",
  /** The node or host was stopped, or a device is not part of this node. */
  NOT_RUNNING: "NOT_RUNNING",
  /** The file that keeps `bdSeq` across restarts cannot be read or written. */
  BDSEQ_STORE_FAILED: "BDSEQ_STORE_FAILED",
} as const;

/** One of {@link SPARKPLUG_ERROR_CODES}. */
export type SparkplugErrorCode = keyof typeof SPARKPLUG_ERROR_CODES;

/**
 * The one error class of `@proj/sparkplug`, with a code from {@link SPARKPLUG_ERROR_CODES}; the finding codes
 * among them are also in the findings catalogue.
 *
 * @example
 * ```ts
 * try {
 *   decodePayload(new Uint8Array([0xff]));
 * } catch (error) {
 *   if (isSparkplugError(error)) console.error(error.code, error.message);
 * }
 * ```
 */
export class SparkplugError extends CodedError<SparkplugErrorCode> {
  override readonly name = "SparkplugError";
}

/**
 * Recognises a {@link SparkplugError} by name (works across duplicate installs).
 *
 * @example
 * ```ts
 * try {
 *   formatTopic({ group: "a/b", type: "NBIRTH", node: "n" });
 * } catch (error) {
 *   if (isSparkplugError(error)) console.error(error.code); // SPARKPLUG_ID_INVALID
 * }
 * ```
 */
export const isSparkplugError: (error: unknown) => error is SparkplugError =
  codedErrorGuard<SparkplugError>("SparkplugError");
