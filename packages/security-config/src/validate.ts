import { createFinding, hasErrors, type Finding, type FindingCode } from "@proj/findings";
import { readFile } from "node:fs/promises";
import { dirname, resolve as resolvePath } from "node:path";
import type { z } from "zod";
import { PROFILES, severityOf, type Profile } from "./profiles.js";
import { resolveFiles, substituteEnv, type RawFinding, type ResolvedConfig } from "./resolve.js";
import { RULES, type Rule } from "./rules.js";
import { configSchema, type SecurityConfig } from "./schema.js";

/** Options of {@link validateConfig} and {@link loadConfig}. */
export interface ValidateOptions {
  /** A built-in profile id or a defined profile; overrides the config's `security.profile`. */
  profile?: string | Profile;
  /** The time certificates are judged at. @default now */
  now?: Date;
  /** Where relative paths start. @default the current directory (loadConfig: the config file's folder) */
  baseDir?: string;
  /** Where `env:NAME` values come from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Extra checks, e.g. a device adapter's (`DEVICE_UNSUPPORTED`), run after the built-in rules. */
  rules?: readonly Rule[];
}

/** The result of {@link validateConfig}: never thrown, always answered. */
export interface ValidationResult {
  /** No error finding. */
  readonly ok: boolean;
  readonly findings: Finding[];
  /** The configuration with defaults, `env:` values and files resolved; `undefined` when it could not be parsed. */
  readonly resolved: ResolvedConfig | undefined;
  /** The profile the findings were judged by. */
  readonly profile: Profile;
}

/** Codes the parse step reports. */
export const PARSE_CODES: readonly FindingCode[] = [
  "UNKNOWN_FIELD",
  "FIELD_INVALID",
  "FILE_NOT_FOUND",
  "FILE_UNREADABLE",
];

function pathOf(segments: readonly PropertyKey[]): string {
  return segments.reduce<string>(
    (out, segment) =>
      typeof segment === "number"
        ? `${out}[${segment}]`
        : out
          ? `${out}.${String(segment)}`
          : String(segment),
    "",
  );
}

function removeAt(target: unknown, segments: readonly PropertyKey[], key: string): void {
  let node = target as Record<PropertyKey, unknown> | undefined;
  for (const segment of segments) node = node?.[segment] as Record<PropertyKey, unknown> | undefined;
  if (node && typeof node === "object") delete node[key];
}

/** Parses with the strict schema; unknown keys become findings and are taken out, so the rest is still checked. */
function parse(input: unknown, findings: RawFinding[]): SecurityConfig | undefined {
  const candidate: unknown = structuredClone(input);
  for (let round = 0; round < 8; round++) {
    const result = configSchema.safeParse(candidate);
    if (result.success) return result.data;
    const unknown = result.error.issues.filter(
      (issue): issue is z.core.$ZodIssueUnrecognizedKeys => issue.code === "unrecognized_keys",
    );
    if (unknown.length === 0) {
      for (const issue of result.error.issues) {
        const path = pathOf(issue.path);
        findings.push({
          code: "FIELD_INVALID",
          path,
          message: `${path || "the configuration"}: ${issue.message}.`,
          remedy: "See the JSON Schema (schema/security-config.schema.json) for what the field takes.",
        });
      }
      return undefined;
    }
    for (const issue of unknown) {
      for (const key of issue.keys) {
        const path = pathOf([...issue.path, key]);
        findings.push({
          code: "UNKNOWN_FIELD",
          path,
          message: `${path} is not a configuration field and is ignored.`,
          remedy:
            "Check the spelling against the JSON Schema; a misspelt security field falls back to its default.",
        });
        removeAt(candidate, issue.path, key);
      }
    }
  }
  return undefined;
}

function chooseProfile(
  requested: string | Profile | undefined,
  configured: unknown,
  findings: RawFinding[],
): Profile {
  if (requested !== undefined && typeof requested !== "string") return requested;
  const id = requested ?? (typeof configured === "string" ? configured : "baseline");
  const profile = PROFILES[id];
  if (profile) return profile;
  findings.push({
    code: "FIELD_INVALID",
    path: "security.profile",
    message: `There is no profile "${id}"; the baseline profile is used.`,
    remedy: `Use one of: ${Object.keys(PROFILES).join(", ")}, or define one with defineProfile().`,
  });
  return PROFILES.baseline!;
}

function judge(raw: RawFinding, profile: Profile): Finding | undefined {
  const severity = raw.severity ?? severityOf(profile, raw.code);
  if (severity === "off") return undefined;
  return createFinding(raw.code, severity, raw.message, {
    path: raw.path,
    remedy: raw.remedy,
    iec: profile.sources[raw.code],
  });
}

/**
 * Checks a configuration through parse → normalize → rules: unknown and invalid fields, `env:` variables, every
 * referenced file read through `@proj/pem`, then each rule, with severities from the profile (`baseline`,
 * `iec62351-3`, or one made with `defineProfile`). It never throws: bad input becomes findings.
 *
 * @example
 * ```ts
 * const { ok, findings, resolved } = validateConfig(
 *   { broker: { url: "mqtts://broker.local:8883" }, security: { trustStore: ["certs/ca.pem"] } },
 *   { profile: "iec62351-3", baseDir: "/etc/plant" },
 * );
 * for (const f of findings) console.log(f.severity, f.code, f.message);
 * ```
 */
export function validateConfig(input: unknown, options: ValidateOptions = {}): ValidationResult {
  const raw: RawFinding[] = [];
  const env = options.env ?? process.env;
  const withEnv = substituteEnv(input, env, raw);
  const rawSecurity = (withEnv as { security?: Record<string, unknown> } | undefined)?.security;
  const profile = chooseProfile(options.profile, rawSecurity?.profile, raw);
  const config = withEnv !== null && typeof withEnv === "object" ? parse(withEnv, raw) : undefined;
  if (config === undefined && !(withEnv !== null && typeof withEnv === "object")) {
    raw.push({
      code: "FIELD_INVALID",
      message: "The configuration must be a JSON object with broker and security.",
      remedy:
        'Start from { "broker": { "url": "mqtts://host:8883" }, "security": { "trustStore": ["ca.pem"] } }.',
    });
  }
  let resolved: ResolvedConfig | undefined;
  if (config) {
    // What the user set: an undefined value or an empty list has no effect to report.
    const isSet = (value: unknown) => value !== undefined && !(Array.isArray(value) && value.length === 0);
    const explicit = new Set(
      Object.entries(rawSecurity ?? {}).flatMap(([key, value]) => (isSet(value) ? [key] : [])),
    );
    resolved = resolveFiles(config, explicit, resolvePath(options.baseDir ?? "."), raw);
    const now = options.now ?? new Date();
    for (const rule of [...RULES, ...(options.rules ?? [])]) {
      if (!config.security.enableTls && !rule.whenTlsDisabled) continue;
      for (const finding of rule.check({ resolved, profile, now })) {
        if (!rule.codes.includes(finding.code)) {
          throw new Error(`rule ${rule.name} emitted ${finding.code}, which it does not declare`);
        }
        raw.push(finding);
      }
    }
  }
  const findings = raw.flatMap((f) => judge(f, profile) ?? []);
  return { ok: !hasErrors(findings), findings, resolved, profile };
}

/**
 * Reads a JSON configuration file and validates it, with relative paths read from the file's folder. A missing
 * or unreadable file, or one that is not JSON, is a finding like any other.
 *
 * @example
 * ```ts
 * const { ok, findings, resolved } = await loadConfig("config/line1-plc.json", { profile: "iec62351-3" });
 * ```
 */
export async function loadConfig(
  path: string,
  options: Omit<ValidateOptions, "baseDir"> = {},
): Promise<ValidationResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return failed(
      options,
      code === "ENOENT" ? "FILE_NOT_FOUND" : "FILE_UNREADABLE",
      code === "ENOENT"
        ? `The configuration file ${path} does not exist.`
        : `The configuration file ${path} cannot be read (${code ?? "error"}).`,
    );
  }
  let input: unknown;
  try {
    input = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    return failed(
      options,
      "FILE_UNREADABLE",
      `The configuration file ${path} is not valid JSON: ${(error as Error).message}.`,
    );
  }
  return validateConfig(input, { ...options, baseDir: dirname(resolvePath(path)) });
}

function failed(options: ValidateOptions, code: FindingCode, message: string): ValidationResult {
  const profile = chooseProfile(options.profile, undefined, []);
  return {
    ok: false,
    findings: [createFinding(code, "error", message, { remedy: "Point -c to the JSON configuration file." })],
    resolved: undefined,
    profile,
  };
}
