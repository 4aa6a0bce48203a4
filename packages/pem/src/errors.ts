import { CodedError, codedErrorGuard, type FindingCode } from "@proj/findings";

/** The codes a {@link PemError} can carry: a subset of the finding catalogue. */
export const PEM_ERROR_CODES = {
  NOT_PEM: "NOT_PEM",
  NOT_PEM_DER: "NOT_PEM_DER",
  NOT_PEM_PKCS12: "NOT_PEM_PKCS12",
  NOT_PEM_PKCS7: "NOT_PEM_PKCS7",
  NOT_PEM_BASE64: "NOT_PEM_BASE64",
  PEM_MALFORMED: "PEM_MALFORMED",
  PEM_UNEXPECTED_BLOCK: "PEM_UNEXPECTED_BLOCK",
  KEY_ENCRYPTED_NO_PASSPHRASE: "KEY_ENCRYPTED_NO_PASSPHRASE",
  KEY_PASSPHRASE_WRONG: "KEY_PASSPHRASE_WRONG",
  KEY_UNSUPPORTED: "KEY_UNSUPPORTED",
} as const satisfies Record<string, FindingCode>;

/** A code a {@link PemError} carries: one of {@link PEM_ERROR_CODES}. */
export type PemErrorCode = keyof typeof PEM_ERROR_CODES;

/**
 * The one error class of `@proj/pem` (a `CodedError` of `@proj/findings`). `code` is a finding code, `remedy` says
 * what to do, and the original Node/OpenSSL/forge error is kept as `cause`. Messages never contain key bytes or
 * passphrases.
 *
 * @example
 * ```ts
 * try {
 *   readPrivateKey(pem, passphrase);
 * } catch (error) {
 *   if (isPemError(error) && error.code === "KEY_PASSPHRASE_WRONG") console.error(error.message, error.remedy);
 * }
 * ```
 */
export class PemError extends CodedError<PemErrorCode> {
  override readonly name = "PemError";
}

/**
 * Recognises a {@link PemError} by its name, so it works across duplicate installs of the package.
 *
 * @example
 * ```ts
 * try { readPrivateKey(pem); } catch (error) { if (isPemError(error)) console.log(error.code, error.remedy); }
 * ```
 */
export const isPemError: (error: unknown) => error is PemError = codedErrorGuard<PemError>("PemError");
