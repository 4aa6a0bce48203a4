import { CodedError, codedErrorGuard } from "@proj/findings";

/** Codes a {@link PkiError} carries. */
export const PKI_ERROR_CODES = {
  /** `initLabPki` would overwrite an existing CA. */
  PKI_EXISTS: "PKI_EXISTS",
  /** The folder holds no CA made by `initLabPki`, or its files cannot be read. */
  PKI_NOT_FOUND: "PKI_NOT_FOUND",
  /** A request the CA cannot act on: an IP that is not one, a CSR whose signature fails, a key type it cannot sign. */
  PKI_BAD_REQUEST: "PKI_BAD_REQUEST",
  /** `revoke` names no certificate this CA issued. */
  PKI_UNKNOWN_CERTIFICATE: "PKI_UNKNOWN_CERTIFICATE",
} as const;

/** One of {@link PKI_ERROR_CODES}. */
export type PkiErrorCode = keyof typeof PKI_ERROR_CODES;

/**
 * The one error class of `@proj/pki`: a code from {@link PKI_ERROR_CODES}, a remedy, and the original error as
 * `cause`. Messages never hold key material.
 *
 * @example
 * ```ts
 * try {
 *   await issueLabLeaf({ dir: "lab-pki", role: "client", name: "plc1" });
 * } catch (error) {
 *   if (isPkiError(error) && error.code === "PKI_NOT_FOUND") console.error(error.remedy);
 * }
 * ```
 */
export class PkiError extends CodedError<PkiErrorCode> {
  override readonly name = "PkiError";
}

/**
 * Recognises a {@link PkiError} by name (works across duplicate installs).
 *
 * @example
 * ```ts
 * if (isPkiError(error)) console.error(error.code);
 * ```
 */
export const isPkiError: (error: unknown) => error is PkiError = codedErrorGuard<PkiError>("PkiError");
