import { CodedError, codedErrorGuard } from "@proj/findings";
import type { PkiError } from "@proj/pki";
/** Codes a {@link CliError} carries, each with the exit code it ends the process with. */
export const CLI_ERROR_CODES = {
  /** A command line the program cannot act on (exit 2). */
  USAGE: "USAGE",
  /** The configuration file is missing, unreadable or not JSON (exit 2). */
  CONFIG_UNREADABLE: "CONFIG_UNREADABLE",
  /** `--device` or the config's `device` names no known adapter (exit 2). */
  UNKNOWN_DEVICE: "UNKNOWN_DEVICE",
  /** `pki issue` in a folder without a CA made by `pki init` (exit 2). */
  PKI_NOT_FOUND: "PKI_NOT_FOUND",
  /** `pki init` would overwrite an existing CA (exit 2). */
  PKI_EXISTS: "PKI_EXISTS",
  /** A network or broker step failed; the message holds the diagnosis (exit 1). */
  FAILED: "FAILED",
} as const;

/** A code a {@link CliError} carries: one of {@link CLI_ERROR_CODES}. */
export type CliErrorCode = keyof typeof CLI_ERROR_CODES;

/**
 * The one error class of `@proj/cli`; `exitCode` follows the documented contract (2 usage or unreadable config,
 * 1 a failed check or connection) and `cause` keeps the original error.
 *
 * @example
 * ```ts
 * throw new CliError("USAGE", "pki issue needs server or client");
 * ```
 */
export class CliError extends CodedError<CliErrorCode> {
  override readonly name = "CliError";

  /** 2 for a usage error or an unreadable configuration, 1 for a failed check or connection. */
  get exitCode(): 1 | 2 {
    return this.code === "FAILED" ? 1 : 2;
  }
}

/**
 * Recognises a {@link CliError} by name (works across duplicate installs).
 *
 * @example
 * ```ts
 * if (isCliError(error)) process.exitCode = error.exitCode;
 * ```
 */
export const isCliError: (error: unknown) => error is CliError = codedErrorGuard<CliError>("CliError");

/**
 * The CLI's reading of a lab-CA failure: `PKI_EXISTS` and `PKI_NOT_FOUND` keep their codes, a request the CA
 * refuses is a usage error; the remedy and the original error stay.
 *
 * @example
 * ```ts
 * const failure = isPkiError(error) ? fromPkiError(error) : error;
 * ```
 */
export function fromPkiError(error: PkiError): CliError {
  const code: CliErrorCode =
    error.code === "PKI_EXISTS" || error.code === "PKI_NOT_FOUND" ? error.code : "USAGE";
  return new CliError(code, error.message, { remedy: error.remedy, cause: error });
}
