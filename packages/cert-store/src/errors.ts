import { CodedError, codedErrorGuard } from "@proj/findings";

/** Codes a {@link CertStoreError} carries: the `STORE_*` finding codes, so a configuration reports them as such. */
export const CERT_STORE_ERROR_CODES = {
  /** The store cannot be opened or used (its location, its backend). */
  STORE_UNAVAILABLE: "STORE_UNAVAILABLE",
  /** No item of that name. */
  STORE_ITEM_NOT_FOUND: "STORE_ITEM_NOT_FOUND",
  /** What was imported is not what the item's kind needs, or the item cannot serve what is asked of it. */
  STORE_ITEM_INVALID: "STORE_ITEM_INVALID",
  /** A private key is to be read or written and no store passphrase was given. */
  STORE_PASSPHRASE_MISSING: "STORE_PASSPHRASE_MISSING",
  /** The passphrase does not open this store; nothing was read or written. */
  STORE_PASSPHRASE_WRONG: "STORE_PASSPHRASE_WRONG",
} as const;

/** One of {@link CERT_STORE_ERROR_CODES}. */
export type CertStoreErrorCode = keyof typeof CERT_STORE_ERROR_CODES;

/**
 * The one error class of `@proj/cert-store`: a `STORE_*` code, a remedy, the findings of an import that failed, and
 * the original error as `cause`. Never holds key bytes or a passphrase.
 *
 * @example
 * ```ts
 * const store = await openCertStore("plant.db", { backends: [sqliteBackend] });
 * try {
 *   await store.getKey("line1-plc");
 * } catch (error) {
 *   if (isCertStoreError(error) && error.code === "STORE_PASSPHRASE_MISSING") console.error(error.remedy);
 * }
 * ```
 */
export class CertStoreError extends CodedError<CertStoreErrorCode> {
  override readonly name = "CertStoreError";
}

/**
 * Recognises a {@link CertStoreError} by name (works across duplicate installs).
 *
 * @example
 * ```ts
 * const store = await openCertStore("plant.db", { backends: [sqliteBackend] });
 * await store.get("nothing-here").catch((error: unknown) => {
 *   if (isCertStoreError(error)) console.error(error.code);
 * });
 * ```
 */
export const isCertStoreError: (error: unknown) => error is CertStoreError =
  codedErrorGuard<CertStoreError>("CertStoreError");
