import { FINDING_CODES } from "@proj/findings";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BASELINE, IEC_62351_3, RULES, severityOf } from "../src/index.js";
import { RESOLVE_CODES } from "../src/resolve.js";
import { PARSE_CODES } from "../src/validate.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const rows = readme
  .split("\n")
  .filter((line) => /^\|\s*`[A-Z0-9_]+`\s*\|/.test(line))
  .map((line) => line.split("|").map((cell) => cell.trim()))
  .map(([, code, baseline, iec]) => ({ code: code!.replace(/`/g, ""), baseline, iec }));

describe("the README's table of finding codes", () => {
  const emitted = new Set([...PARSE_CODES, ...RESOLVE_CODES, ...RULES.flatMap((rule) => rule.codes)]);

  it("lists exactly the codes this package emits, each once", () => {
    expect(rows.map((r) => r.code).sort()).toEqual([...emitted].sort());
    expect(new Set(rows.map((r) => r.code)).size).toBe(rows.length);
  });

  it("gives each code the severity its profile gives it", () => {
    for (const row of rows) {
      const code = row.code as keyof typeof FINDING_CODES;
      expect({ code, baseline: row.baseline }).toEqual({ code, baseline: severityOf(BASELINE, code) });
      expect({ code, iec: row.iec }).toEqual({ code, iec: severityOf(IEC_62351_3, code) });
    }
  });

  it("uses only codes of the shared catalogue", () => {
    for (const code of emitted) expect(Object.hasOwn(FINDING_CODES, code)).toBe(true);
  });
});
