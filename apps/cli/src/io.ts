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
