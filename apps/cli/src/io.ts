import type { Finding } from "@proj/pem";
import pc from "picocolors";

/** Where a command writes, and what it reads from its surroundings. */
export interface CliIo {
  /** Results: human text, or exactly one JSON document with --json. */
  readonly stdout: (text: string) => void;
  /** Progress, warnings and errors. */
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** stdout is a terminal (colour on unless NO_COLOR). */
  readonly isTty: boolean;
}

export type Colors = ReturnType<typeof pc.createColors>;

/** Colour only for a terminal, and never under NO_COLOR (https://no-color.org) or with --no-color. */
export function colorsFor(io: CliIo, disabled = false): Colors {
  const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "";
  return pc.createColors(io.isTty && !noColor && !disabled);
}

/** Writes a progress line on stderr, for slow steps (key generation, live checks). */
export function progress(io: CliIo): (step: string) => void {
  return (step) => io.stderr(`… ${step}\n`);
}

const ORDER = ["error", "warning", "info"] as const;
const TITLES = { error: "Errors", warning: "Warnings", info: "Notes" } as const;

/** Findings grouped by severity, each with its path, message and remedy. */
export function formatFindings(findings: readonly Finding[], c: Colors): string {
  const out: string[] = [];
  for (const severity of ORDER) {
    const group = findings.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    const paint = severity === "error" ? c.red : severity === "warning" ? c.yellow : c.cyan;
    const mark = severity === "error" ? "✖" : severity === "warning" ? "▲" : "ℹ";
    out.push(c.bold(paint(`${TITLES[severity]} (${group.length})`)));
    for (const f of group) {
      out.push(`  ${paint(mark)} ${c.bold(f.code)}${f.path ? c.dim(`  ${f.path}`) : ""}`);
      out.push(`    ${f.message}`);
      if (f.remedy) out.push(`    ${c.green("→")} ${f.remedy}`);
      if (f.iec) out.push(`    ${c.dim(`IEC 62351-3: ${f.iec}`)}`);
    }
    out.push("");
  }
  return out.join("\n");
}

/** "2 errors, 1 warning" or "no problems". */
export function summarize(findings: readonly Finding[]): string {
  const count = (s: Finding["severity"]) => findings.filter((f) => f.severity === s).length;
  const parts = [
    [count("error"), "error"],
    [count("warning"), "warning"],
    [count("info"), "note"],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, word]) => `${n} ${word}${n === 1 ? "" : "s"}`);
  return parts.length === 0 ? "no problems" : parts.join(", ");
}

/** A two-column table: label, value (values may span lines). */
export function table(rows: readonly (readonly [string, string])[], c: Colors, indent = "  "): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows
    .map(([label, value]) =>
      value
        .split("\n")
        .map((line, i) => `${indent}${i === 0 ? c.dim(label.padEnd(width)) : " ".repeat(width)}  ${line}`)
        .join("\n"),
    )
    .join("\n");
}
