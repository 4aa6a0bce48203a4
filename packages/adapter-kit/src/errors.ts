import { CodedError, codedErrorGuard } from "@proj/findings";

/** Codes an {@link AdapterError} carries. */
export const ADAPTER_ERROR_CODES = {
  /** `defineAdapter()` was given an adapter that breaks the contract (bad id, a profile fact without a source...). */
  DEFINITION_INVALID: "DEFINITION_INVALID",
  /** Two adapters in one registry share an id. */
  DUPLICATE_ADAPTER: "DUPLICATE_ADAPTER",
  /** No adapter has the id asked for. */
  UNKNOWN_DEVICE: "UNKNOWN_DEVICE",
  /** The device cannot load or use what the configuration gives it (the simulator refuses, as the device would). */
  DEVICE_UNSUPPORTED: "DEVICE_UNSUPPORTED",
  /** A device's own configuration (e.g. a Geo SCADA MQTT Broker item) does not have the documented shape. */
  DEVICE_CONFIG_INVALID: "DEVICE_CONFIG_INVALID",
  /** The configuration has errors that stop device files or a simulation from being made. */
  CONFIG_INVALID: "CONFIG_INVALID",
} as const;

/** A code an {@link AdapterError} carries: one of {@link ADAPTER_ERROR_CODES}. */
export type AdapterErrorCode = keyof typeof ADAPTER_ERROR_CODES;

/**
 * The one error class of `@proj/adapter-kit` and the adapters built on it: `code` from
 * {@link ADAPTER_ERROR_CODES}, `findings` with the details when there are any, `cause` the original error.
 *
 * @example
 * ```ts
 * try { registry.require("acme-plc"); } catch (error) { if (isAdapterError(error)) console.error(error.code, error.message); }
 * ```
 */
export class AdapterError extends CodedError<AdapterErrorCode> {
  override readonly name = "AdapterError";
}

/**
 * Recognises an {@link AdapterError} by name (works across duplicate installs).
 *
 * @example
 * ```ts
 * if (isAdapterError(error) && error.code === "UNKNOWN_DEVICE") console.error(error.message);
 * ```
 */
export const isAdapterError: (error: unknown) => error is AdapterError =
  codedErrorGuard<AdapterError>("AdapterError");
