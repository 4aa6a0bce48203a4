import type { FindingCode, Severity } from "./catalogue.js";

/** The one result type of every check: static rules, file parsing, device profiles and live connections. */
export interface Finding {
  /** Stable code from the catalogue; part of the public API. */
  code: FindingCode;
  severity: Severity;
  /** Where it applies, e.g. a config path (`security.keyStore.privateKey`). */
  path?: string;
  /** What is wrong, in the user's words, naming the file or certificate (never a secret). */
  message: string;
  /** What to do, e.g. the exact openssl command. */
  remedy?: string;
  /** IEC 62351-3 reference where one applies. */
  iec?: string;
  /** Set when this finding only follows from another one of the same report: fix that one first. */
  causedBy?: FindingCode;
}

/** The optional parts of a {@link Finding}. */
export interface FindingExtra {
  path?: string | undefined;
  remedy?: string | undefined;
  iec?: string | undefined;
  causedBy?: FindingCode | undefined;
}

/**
 * Builds a {@link Finding}, leaving out the optional fields that are not given.
 *
 * @example
 * ```ts
 * createFinding("NOT_PEM_DER", "error", "ca.crt is DER", { remedy: "openssl x509 -inform der -in ca.crt -out ca.pem" });
 * ```
 */
export function createFinding(
  code: FindingCode,
  severity: Severity,
  message: string,
  extra: FindingExtra = {},
): Finding {
  const finding: Finding = { code, severity, message };
  if (extra.path !== undefined) finding.path = extra.path;
  if (extra.remedy !== undefined) finding.remedy = extra.remedy;
  if (extra.iec !== undefined) finding.iec = extra.iec;
  if (extra.causedBy !== undefined && extra.causedBy !== code) finding.causedBy = extra.causedBy;
  return finding;
}

/**
 * Whether any finding is an error.
 *
 * @example
 * ```ts
 * if (hasErrors(findings)) process.exitCode = 1;
 * ```
 */
export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === "error");
}
