import type { Finding, FindingCode } from "@proj/findings";

/**
 * What the CLI adds to a library's remedy: the command that does the step. The libraries name the fix without
 * assuming this CLI; the CLI says how to do it with itself.
 */
const HINTS: Partial<Record<FindingCode, string>> = {
  PIN_MALFORMED: "`mqtt-tls inspect CERT` prints a certificate's spkiPin.",
  PINNED_CERT_MISMATCH: "`mqtt-tls inspect CERT` prints a certificate's spkiPin.",
  KEY_UNSUPPORTED: "`mqtt-tls inspect FILE` says what a file holds.",
};

/** The findings with the CLI's hint added to their remedy, where it has one for their code. */
export function withCliHints(findings: readonly Finding[]): Finding[] {
  return findings.map((f) => {
    const hint = HINTS[f.code];
    if (!hint || f.remedy?.includes(hint)) return f;
    return { ...f, remedy: f.remedy ? `${f.remedy} ${hint}` : hint };
  });
}
