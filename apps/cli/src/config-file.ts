import { createFinding, type Finding } from "@proj/findings";
import { readFile } from "node:fs/promises";
import { CliError } from "./errors.js";

/** A configuration file that could not be read as JSON: exit 2, with the finding `--json` prints. */
export class ConfigUnreadable extends CliError {
  readonly finding: Finding;
  constructor(file: string, cause: unknown) {
    const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
    const message = missing
      ? `The configuration file ${file} does not exist.`
      : `The configuration file ${file} cannot be read: ${(cause as Error).message}.`;
    const remedy = "Point -c to the JSON configuration file.";
    super("CONFIG_UNREADABLE", message, { remedy, cause });
    this.finding = createFinding(missing ? "FILE_NOT_FOUND" : "FILE_UNREADABLE", "error", message, {
      remedy,
    });
  }
}

/**
 * Reads a JSON configuration file (a leading BOM is fine) as the object the library takes.
 * @throws {ConfigUnreadable} when it is missing, unreadable or not JSON.
 */
export async function readConfigFile(path: string, shownAs = path): Promise<Record<string, unknown>> {
  try {
    const value: unknown = JSON.parse((await readFile(path, "utf8")).replace(/^\uFEFF/, ""));
    if (value === null || typeof value !== "object" || Array.isArray(value))
      throw new Error("it holds no JSON object");
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ConfigUnreadable(shownAs, error);
  }
}
