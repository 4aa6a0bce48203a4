import { FINDING_CATALOGUE, orderFindings, type Finding, type FindingCode } from "@proj/findings";
import { inspectCertificate, validityProblem, verifyChain, type CertificateInput } from "@proj/pem";
import type { RawFinding } from "./raw-finding.js";
import { judge, type ValidationResult } from "./validate.js";

/** What the policy judges in a chain a peer presented; whether it verifies at all is the TLS handshake's business. */
const POLICY_CODES: ReadonlySet<FindingCode> = new Set<FindingCode>([
  "WEAK_KEY",
  "WEAK_SIGNATURE",
  "CERT_TOO_LARGE",
  "CHAIN_TOO_LONG",
]);

/**
 * Judges the chain a broker presented by the profile of a loaded configuration: key sizes and curves, signature
 * hashes, certificate size and chain depth from `profile.parameters`, and certificates that expire within
 * `expiryWarningDays`. A stricter profile is applied to the broker as it is to the configuration's own files.
 * Findings carry the path `connection.serverChain` and the profile's severities.
 *
 * @example
 * ```ts
 * const loaded = await loadConfig("plc.json", { profile: plant });
 * if (result.tlsInfo) console.log(checkPresentedChain(loaded, result.tlsInfo.peerChain.map((c) => c.pem)));
 * ```
 */
export function checkPresentedChain(
  loaded: ValidationResult,
  chain: readonly CertificateInput[],
  options: { now?: Date } = {},
): Finding[] {
  const resolved = loaded.resolved;
  const [leaf, ...rest] = chain;
  if (!resolved || leaf === undefined) return [];
  const now = options.now ?? new Date();
  const verdict = verifyChain({
    leaf,
    intermediates: rest,
    trusted: resolved.trustStore?.pems.length ? resolved.trustStore.pems : chain.slice(-1),
    policy: loaded.profile.parameters,
    strict: false,
    time: now,
  });
  const raw: RawFinding[] = verdict.findings
    .filter((f) => POLICY_CODES.has(f.code))
    .map((f) => ({
      code: f.code,
      path: "connection.serverChain",
      message: `The broker presented ${f.message.replace(/^the /, "")}`,
      remedy:
        f.code === "CHAIN_TOO_LONG"
          ? "Have the broker send a shorter chain."
          : FINDING_CATALOGUE[f.code].remedy,
    }));
  for (const certificate of chain) {
    const info = inspectCertificate(certificate);
    const problem = validityProblem(info, now, resolved.config.security.expiryWarningDays);
    if (problem?.code === "CERT_EXPIRES_SOON")
      raw.push({
        code: "CERT_EXPIRES_SOON",
        path: "connection.serverChain",
        message: `The broker's certificate "${info.subject.oneLine}" ${problem.text}.`,
        remedy: "Have the broker's certificate renewed before then.",
      });
  }
  return orderFindings(raw.flatMap((f) => judge(f, loaded.profile) ?? []));
}
