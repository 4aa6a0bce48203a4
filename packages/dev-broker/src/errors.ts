import { CodedError, codedErrorGuard } from "@proj/findings";

/** Codes a {@link DevBrokerError} carries. */
export const DEV_BROKER_ERROR_CODES = {
  /** `waitForClient` or `waitForHandshakeFailures` reached its deadline. */
  WAIT_TIMEOUT: "WAIT_TIMEOUT",
  /** `cluster.redis` is not a `redis://HOST:PORT` URL. */
  CLUSTER_URL_INVALID: "CLUSTER_URL_INVALID",
  /** The cluster's Redis did not answer when the node started. */
  CLUSTER_UNREACHABLE: "CLUSTER_UNREACHABLE",
} as const;

/** One of {@link DEV_BROKER_ERROR_CODES}. */
export type DevBrokerErrorCode = keyof typeof DEV_BROKER_ERROR_CODES;

/**
 * The one error class of `@proj/dev-broker`, with a code from {@link DEV_BROKER_ERROR_CODES}.
 *
 * @example
 * ```ts
 * await using broker = await startDevBroker();
 * try {
 *   await broker.waitForClient("plc1", 1000);
 * } catch (error) {
 *   if (isDevBrokerError(error)) console.error(error.code, error.message);
 * }
 * ```
 */
export class DevBrokerError extends CodedError<DevBrokerErrorCode> {
  override readonly name = "DevBrokerError";
}

/**
 * Recognises a {@link DevBrokerError} by name (works across duplicate installs).
 *
 * @example
 * ```ts
 * const broker = await startDevBroker();
 * await broker.waitForClient("plc1", 1000).catch((error: unknown) => {
 *   if (isDevBrokerError(error)) console.error(error.code);
 * });
 * await broker.close();
 * ```
 */
export const isDevBrokerError: (error: unknown) => error is DevBrokerError =
  codedErrorGuard<DevBrokerError>("DevBrokerError");
