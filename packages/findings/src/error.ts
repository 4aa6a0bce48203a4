import type { Finding } from "./finding.js";

/** What every coded error may carry besides its code and message. */
export interface CodedErrorOptions {
  /** What to do about it. */
  remedy?: string | undefined;
  /** The findings behind it, cause first. */
  findings?: readonly Finding[] | undefined;
  /** The original Node, OpenSSL or library error. */
  cause?: unknown;
}

/**
 * The one error base of the project. Each package specialises it with its own `name` and an `as const` map of
 * codes; `cause` keeps the original error, `remedy` says what to do, `findings` the details. Messages never hold
 * a secret.
 *
 * @example
 * ```ts
 * const CODES = { NOT_FOUND: "NOT_FOUND" } as const;
 * class StoreError extends CodedError<keyof typeof CODES> {
 *   override readonly name = "StoreError";
 * }
 * const isStoreError = codedErrorGuard<StoreError>("StoreError");
 * try {
 *   throw new StoreError("NOT_FOUND", "no item line1-plc", { remedy: "mqtt-tls store list" });
 * } catch (error) {
 *   if (isStoreError(error)) console.error(error.code, error.remedy);
 * }
 * ```
 */
export class CodedError<Code extends string = string> extends Error {
  override readonly name: string = "CodedError";
  readonly code: Code;
  readonly remedy: string | undefined;
  readonly findings: readonly Finding[];

  constructor(code: Code, message: string, options: CodedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.remedy = options.remedy;
    this.findings = options.findings ?? [];
  }
}

/**
 * A guard that recognises an error class by its `name` and a string `code`, so it works across duplicate installs
 * of a package (where `instanceof` fails).
 *
 * @example
 * ```ts
 * import type { PemError } from "@proj/pem";
 *
 * const isPemError = codedErrorGuard<PemError>("PemError");
 * if (isPemError(error)) console.log(error.code);
 * ```
 */
export function codedErrorGuard<T extends CodedError>(name: string): (error: unknown) => error is T {
  return (error: unknown): error is T =>
    error instanceof Error && error.name === name && typeof (error as { code?: unknown }).code === "string";
}
