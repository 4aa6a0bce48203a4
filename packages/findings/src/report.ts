import type { Severity } from "./catalogue.js";
import type { Finding } from "./finding.js";

const RANK: Readonly<Record<Severity, number>> = { error: 0, warning: 1, info: 2 };
const SEVERITIES = ["error", "warning", "info"] as const;

/**
 * Orders a report for the person reading it ("the cause leads", see ARCHITECTURE.md): errors before warnings
 * before infos, each finding that only follows from another (`causedBy`) right after its cause, so the first
 * error is the thing to fix first. A cause is raised to the severity of what it causes (a warning that makes a connection fail is an
 * error of this report); a `causedBy` that names no other finding of the report is dropped. The input is not
 * changed, and findings keep their relative order otherwise.
 *
 * @example
 * ```ts
 * const report = orderFindings([
 *   createFinding("CLIENT_CERT_REJECTED", "error", "The broker refused the client certificate.", { causedBy: "CHAIN_ORDER" }),
 *   createFinding("CHAIN_ORDER", "warning", "client-chain.pem is not in leaf-to-root order."),
 * ]);
 * report[0]?.code; // "CHAIN_ORDER", now an error
 * ```
 */
export function orderFindings(findings: readonly Finding[]): Finding[] {
  const items = findings.map((f) => ({ ...f }));
  const causeOf = new Map<Finding, Finding>();
  for (const item of items) {
    if (item.causedBy === undefined) continue;
    // Of several findings with the cause's code, the one whose path is closest to this one's.
    const cause = items
      .filter((other) => other !== item && other.code === item.causedBy)
      .sort((a, b) => sharedPrefix(b.path, item.path) - sharedPrefix(a.path, item.path))[0];
    if (!cause || leadsTo(cause, item, causeOf)) delete item.causedBy;
    else causeOf.set(item, cause);
  }
  // Raise causes to the severity of their consequences, along chains of any length.
  for (let changed = true; changed;) {
    changed = false;
    for (const [item, cause] of causeOf) {
      if (RANK[cause.severity] > RANK[item.severity]) {
        cause.severity = item.severity;
        changed = true;
      }
    }
  }
  const out: Finding[] = [];
  const placed = new Set<Finding>();
  const place = (item: Finding): void => {
    if (placed.has(item)) return;
    placed.add(item);
    out.push(item);
    for (const [consequence, cause] of causeOf)
      if (cause === item && consequence.severity === item.severity) place(consequence);
  };
  // A consequence sits under its cause when both have the same severity; the others lead their group, in the order
  // of the earliest finding of their tree (the producer's order of importance).
  const rootOf = (item: Finding): Finding => {
    let current = item;
    for (
      let cause = causeOf.get(current);
      cause && cause.severity === current.severity;
      cause = causeOf.get(current)
    )
      current = cause;
    return current;
  };
  const firstSeen = new Map<Finding, number>();
  items.forEach((item, index) => {
    const root = rootOf(item);
    if (!firstSeen.has(root)) firstSeen.set(root, index);
  });
  const roots = [...firstSeen.entries()].sort((a, b) => a[1] - b[1]).map(([root]) => root);
  for (const severity of SEVERITIES) for (const root of roots) if (root.severity === severity) place(root);
  // Anything left (a consequence whose cause sits in another group but was itself skipped) keeps its place.
  for (const item of items) place(item);
  return out;
}

function sharedPrefix(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) return 0;
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

function leadsTo(from: Finding, to: Finding, causeOf: ReadonlyMap<Finding, Finding>): boolean {
  for (let current: Finding | undefined = from, hops = 0; current && hops < 64; hops++) {
    if (current === to) return true;
    current = causeOf.get(current);
  }
  return false;
}

/**
 * One report from a configuration's static findings and a live check's: a live finding the static checks already
 * made (same code and path) is kept once, at the more serious severity (a weak key the profile only warns of is an
 * error when the TLS stack refuses it in the handshake); the rest of the live findings are added, and the whole is
 * ordered by {@link orderFindings}, so the cause leads.
 *
 * @example
 * ```ts
 * const report = mergeLiveFindings(
 *   [createFinding("WEAK_KEY", "warning", "client.key is RSA 1024.", { path: "security.keyStore.privateKey" })],
 *   [createFinding("WEAK_KEY", "error", "The TLS stack refused the RSA 1024 key.", { path: "security.keyStore.privateKey" })],
 * );
 * report.length; // 1, an error
 * ```
 */
export function mergeLiveFindings(
  staticFindings: readonly Finding[],
  liveFindings: readonly Finding[],
): Finding[] {
  const same = (a: Finding, b: Finding) => a.code === b.code && a.path === b.path;
  return orderFindings([
    ...staticFindings.map((g) => {
      const live = liveFindings.find((f) => same(f, g));
      return live && RANK[live.severity] < RANK[g.severity] ? { ...g, severity: live.severity } : g;
    }),
    ...liveFindings.filter((f) => !staticFindings.some((g) => same(f, g))),
  ]);
}

/**
 * Text for a terminal: every control character (ESC, CR, BEL, C1 controls, bidirectional overrides) escaped as
 * `\u{…}`, so a certificate's subject cannot move the cursor, clear the screen or fake a verdict.
 *
 * @example
 * ```ts
 * escapeControl("CN=\u001b[2Jbroker"); // "CN=\\u{1b}[2Jbroker"
 * ```
 */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (ch) => {
    return `\\u{${ch.codePointAt(0)!.toString(16)}}`;
  });
}

/** Paints text for a terminal; every function may be the identity (no colour). */
export interface Painter {
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  green(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const PLAIN: Painter = {
  red: (t) => t,
  yellow: (t) => t,
  cyan: (t) => t,
  green: (t) => t,
  dim: (t) => t,
  bold: (t) => t,
};

const TITLES: Readonly<Record<Severity, string>> = { error: "Errors", warning: "Warnings", info: "Notes" };
const MARKS: Readonly<Record<Severity, string>> = { error: "✖", warning: "▲", info: "ℹ" };

/**
 * A report as text: findings ordered by {@link orderFindings} and grouped by severity, each with its code, path,
 * message, remedy and IEC reference; a consequence is printed indented under its cause. Control characters are
 * escaped. The CLI and the Node-RED doctor print reports with it.
 *
 * @example
 * ```ts
 * process.stdout.write(renderFindings(findings));
 * ```
 */
export function renderFindings(findings: readonly Finding[], paint: Painter = PLAIN): string {
  const ordered = orderFindings(findings);
  const out: string[] = [];
  for (const severity of SEVERITIES) {
    const group = ordered.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    const color = severity === "error" ? paint.red : severity === "warning" ? paint.yellow : paint.cyan;
    out.push(paint.bold(color(`${TITLES[severity]} (${group.length})`)));
    for (const f of group) {
      const under = f.causedBy !== undefined && group.some((g) => g !== f && g.code === f.causedBy);
      const indent = under ? "      " : "  ";
      const mark = under ? "↳" : MARKS[severity];
      out.push(
        `${indent}${color(mark)} ${paint.bold(f.code)}${f.path ? paint.dim(`  ${escapeControl(f.path)}`) : ""}${
          f.causedBy !== undefined ? paint.dim(`  (follows from ${f.causedBy})`) : ""
        }`,
      );
      out.push(`${indent}  ${escapeControl(f.message)}`);
      if (f.remedy) out.push(`${indent}  ${paint.green("→")} ${escapeControl(f.remedy)}`);
      if (f.iec) out.push(`${indent}  ${paint.dim(escapeControl(f.iec))}`);
    }
    out.push("");
  }
  return out.join("\n");
}

/**
 * "2 errors, 1 warning", or "no problems".
 *
 * @example
 * ```ts
 * console.log(`NOT OK: ${summarizeFindings(findings)}.`);
 * ```
 */
export function summarizeFindings(findings: readonly Finding[]): string {
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  const parts = (
    [
      [count("error"), "error"],
      [count("warning"), "warning"],
      [count("info"), "note"],
    ] as const
  )
    .filter(([n]) => n > 0)
    .map(([n, word]) => `${n} ${word}${n === 1 ? "" : "s"}`);
  return parts.length === 0 ? "no problems" : parts.join(", ");
}
