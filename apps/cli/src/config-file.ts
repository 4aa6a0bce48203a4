import { createFinding, type Finding } from "@proj/findings";
import type { LoadedConfig } from "@proj/security-config";
import { CliError } from "./errors.js";

const REMEDY = "Point -c to the JSON configuration file.";

/** A configuration file that could not be read as a JSON object: exit 2, with the finding `--json` prints. */
export class ConfigUnreadable extends CliError {
  readonly finding: Finding;
  constructor(finding: Finding) {
    // A file that is there but broken is fixed in the file (the library says how); anything else is fixed in -c.
    const remedy = finding.remedy ?? REMEDY;
    super("CONFIG_UNREADABLE", finding.message, { remedy });
    this.finding = { ...finding, remedy };
  }
}

/**
 * Why a loaded configuration file is no configuration at all (missing, unreadable, not JSON, not an object), as the
 * CLI reports it; `undefined` when it is one (whatever its findings).
 */
export function configUnreadable(loaded: LoadedConfig, shownAs: string): ConfigUnreadable | undefined {
  const input = loaded.input;
  if (input !== null && typeof input === "object" && !Array.isArray(input)) return undefined;
  const cause = loaded.findings.find((f) => f.severity === "error");
  return new ConfigUnreadable(
    cause && input === undefined
      ? cause
      : createFinding("FILE_UNREADABLE", "error", `The configuration file ${shownAs} holds no JSON object.`),
  );
}

/**
 * Loads a configuration file for a command that cannot go on without one.
 * @throws {ConfigUnreadable} when it is missing, unreadable, not JSON or not an object.
 */
export function requireConfig(loaded: LoadedConfig, shownAs: string): LoadedConfig {
  const unreadable = configUnreadable(loaded, shownAs);
  if (unreadable) throw unreadable;
  return loaded;
}
