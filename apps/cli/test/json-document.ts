import { Ajv } from "ajv";
import { readFile } from "node:fs/promises";
import { expect } from "vitest";

const schema = JSON.parse(
  await readFile(new URL("../schema/cli-output.schema.json", import.meta.url), "utf8"),
) as object;
const validate = new Ajv({ allErrors: true }).compile(schema);

/** A command's `--json` output: the whole of stdout is one document, and it matches the published schema. */
export function jsonDocument(stdout: string): Record<string, unknown> {
  const doc = JSON.parse(stdout) as Record<string, unknown>;
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  return doc;
}
