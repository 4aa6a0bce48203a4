import {
  FILE_PROBLEM_CODES,
  createFinding,
  hasErrors,
  orderFindings,
  type Finding,
  type FindingCode,
} from "@proj/findings";
import { dirname, resolve as resolvePath } from "node:path";
import type { z } from "zod";
import { PROFILES, severityOf, type Profile } from "./profiles.js";
import {
  FILE_LIMITS,
  fileReferences,
  readBoundedFile,
  readReferences,
  readReferencesSync,
  type FileReference,
  type FileTable,
  type StoreResolver,
} from "./files.js";
import { parseJsonText } from "./json.js";
import { resolveFiles, substituteEnv, type RawFinding, type ResolvedConfig } from "./resolve.js";
import { RULES, type Rule } from "./rules.js";
import { CONFIG_FIELDS, configSchema, type SecurityConfig } from "./schema.js";

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
  /** Where `store:NAME` references are read (`storeResolver` of `@proj/cert-store`). @default none: a finding */
  store?: StoreResolver;
}

/** The result of {@link loadConfig} (and of the deprecated {@link validateConfig}): never thrown, always answered. */
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

/** The field an UNKNOWN_FIELD finding most likely meant, as a config path. */
const nearField = new WeakMap<RawFinding, string>();

/** Damerau-Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

function knownFields(segments: readonly PropertyKey[]): readonly string[] {
  return CONFIG_FIELDS[segments.map(String).join(".")] ?? [];
}

/** The known field closest to a misspelt one (case, a typo or two), if one is close enough. */
function closestField(key: string, fields: readonly string[]): string | undefined {
  let best: { field: string; score: number } | undefined;
  for (const field of fields) {
    const score =
      field.toLowerCase() === key.toLowerCase() ? 0 : distance(key.toLowerCase(), field.toLowerCase());
    if (score <= Math.max(1, Math.floor(field.length / 4)) && (!best || score < best.score))
      best = { field, score };
  }
  return best?.field;
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
          message: path ? `${issue.message}.` : `The configuration: ${issue.message}.`,
          remedy: "See the JSON Schema (schema/security-config.schema.json) for what the field takes.",
        });
      }
      return undefined;
    }
    for (const issue of unknown) {
      for (const key of issue.keys) {
        const path = pathOf([...issue.path, key]);
        const near = closestField(key, knownFields(issue.path));
        const parent = issue.path.reduce<unknown>(
          (at, step) =>
            at !== null && typeof at === "object" ? (at as Record<string, unknown>)[String(step)] : undefined,
          candidate,
        );
        // When the field meant is set as well, the misspelling explains nothing: it is only noise to remove.
        const alsoSet = near !== undefined && parent !== null && typeof parent === "object" && near in parent;
        findings.push({
          code: "UNKNOWN_FIELD",
          path,
          message: `"${key}" is not a configuration field and is ignored${near ? `: did you mean ${near}?` : "."}`,
          remedy: alsoSet
            ? `Remove it: "${near}" is set as well.`
            : near
              ? `Rename it to "${near}"; until then ${pathOf([...issue.path, near])} keeps its default.`
              : "Check the spelling against the JSON Schema; a misspelt field falls back to its default.",
        });
        if (near && !alsoSet) nearField.set(findings.at(-1)!, pathOf([...issue.path, near]));
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

/** A raw finding with the severity and IEC source the profile gives it; `undefined` when the profile turns it off. */
export function judge(raw: RawFinding, profile: Profile): Finding | undefined {
  const severity = raw.severity ?? severityOf(profile, raw.code);
  if (severity === "off") return undefined;
  return createFinding(raw.code, severity, raw.message, {
    path: raw.path,
    remedy: raw.remedy,
    iec: profile.sources[raw.code],
    causedBy: raw.causedBy,
  });
}

const LOADED = Symbol.for("@proj/security-config.loaded");

/**
 * A configuration read once: the input, every `env:` value and file resolved, certificates and keys decoded, and
 * the findings of every rule under the profile. `probe`, `connectSecure`, the CLI's commands and the fleet take it
 * as it is: nothing reads or validates the same file twice.
 */
export interface LoadedConfig extends ValidationResult {
  /** The configuration object as written (before defaults and `env:`), e.g. for a device adapter's `asDevice`. */
  readonly input: unknown;
  /** The configuration file, when it was read from one. */
  readonly file: string | undefined;
  /** The options it was loaded with (to reload it after a certificate rotation). */
  readonly options: Readonly<ValidateOptions>;
}

/**
 * Whether a value is a configuration already loaded by {@link loadConfig} (works across duplicate installs).
 *
 * @example
 * ```ts
 * const loaded = isLoadedConfig(value) ? value : await loadConfig(value);
 * ```
 */
export function isLoadedConfig(value: unknown): value is LoadedConfig {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[LOADED] === true;
}

interface Prepared {
  readonly input: unknown;
  readonly raw: RawFinding[];
  readonly profile: Profile;
  readonly config: SecurityConfig | undefined;
  readonly explicit: ReadonlySet<string>;
  readonly refs: readonly FileReference[];
  readonly baseDir: string;
}

/** Parse and normalize: `env:` values, the profile, the strict schema, and which files the rest needs. */
function prepare(input: unknown, options: ValidateOptions): Prepared {
  const raw: RawFinding[] = [];
  const env = options.env ?? process.env;
  const withEnv = substituteEnv(input, env, raw);
  const isObject = withEnv !== null && typeof withEnv === "object" && !Array.isArray(withEnv);
  const rawSecurity = isObject ? (withEnv as { security?: Record<string, unknown> }).security : undefined;
  const profile = chooseProfile(options.profile, rawSecurity?.profile, raw);
  const config = isObject ? parse(withEnv, raw) : undefined;
  if (!isObject) {
    raw.push({
      code: "FIELD_INVALID",
      message: "The configuration must be a JSON object with broker and security.",
      remedy:
        'Start from { "broker": { "url": "mqtts://host:8883" }, "security": { "trustStore": ["ca.pem"] } }.',
    });
  }
  // What the user set: an undefined value or an empty list has no effect to report.
  const isSet = (value: unknown) => value !== undefined && !(Array.isArray(value) && value.length === 0);
  const explicit = new Set(
    Object.entries(rawSecurity ?? {}).flatMap(([key, value]) => (isSet(value) ? [key] : [])),
  );
  const refs = config ? fileReferences(config) : [];
  return { input, raw, profile, config, explicit, refs, baseDir: resolvePath(options.baseDir ?? ".") };
}

/** Resolve and check: the files already read, then every rule, then the profile's severities. */
function finish(prepared: Prepared, files: FileTable, options: ValidateOptions, file?: string): LoadedConfig {
  const { raw, profile, config } = prepared;
  let resolved: ResolvedConfig | undefined;
  if (config) {
    resolved = resolveFiles(config, prepared.explicit, prepared.baseDir, raw, files);
    raw.push(...runRules([...RULES, ...(options.rules ?? [])], resolved, profile, options.now ?? new Date()));
  }
  const findings = orderFindings(relate(raw).flatMap((f) => judge(f, profile) ?? []));
  const result: LoadedConfig = {
    ok: !hasErrors(findings),
    findings,
    resolved,
    profile,
    input: prepared.input,
    file,
    options,
  };
  Object.defineProperty(result, LOADED, { value: true, enumerable: false });
  return result;
}

function runRules(
  rules: readonly Rule[],
  resolved: ResolvedConfig,
  profile: Profile,
  now: Date,
): RawFinding[] {
  const out: RawFinding[] = [];
  for (const rule of rules) {
    if (!resolved.config.security.enableTls && !rule.whenTlsDisabled) continue;
    for (const finding of rule.check({ resolved, profile, now })) {
      if (!rule.codes.includes(finding.code)) {
        throw new TypeError(`rule ${rule.name} emitted ${finding.code}, which it does not declare`);
      }
      out.push(finding);
    }
  }
  return out;
}

const PASSPHRASE_CODES: ReadonlySet<FindingCode> = new Set<FindingCode>([
  "KEY_ENCRYPTED_NO_PASSPHRASE",
  "KEY_PASSPHRASE_WRONG",
]);

/**
 * Links findings that only follow from another one of the same report (`causedBy`), so the report leads with the
 * cause: a rule's consequence of a misspelt field, of a file that could not be read, of a passphrase variable
 * that is not set.
 */
function relate(raw: RawFinding[]): RawFinding[] {
  const unknownNear = new Map(
    raw.flatMap((f) => {
      const near = nearField.get(f);
      return near === undefined ? [] : [[near, f] as const];
    }),
  );
  const unreadable = raw.filter(
    (f) => FILE_PROBLEM_CODES.has(f.code) && f.path?.startsWith("security.trustStore"),
  );
  // A passphrase given as env:NAME whose variable is not set: the key then has no passphrase because of it.
  const missingPassphrase = raw
    .filter((f) => f.code === "ENV_VAR_MISSING" && f.path?.endsWith(".passphrase"))
    .map((f) => f.path!.slice(0, -".passphrase".length));
  for (const finding of raw) {
    if (finding.causedBy !== undefined) continue;
    const misspelt = finding.path === undefined ? undefined : unknownNear.get(finding.path);
    if (misspelt && finding !== misspelt) finding.causedBy = "UNKNOWN_FIELD";
    else if (finding.code === "TRUST_STORE_EMPTY" && unreadable[0]) finding.causedBy = unreadable[0].code;
    else if (
      PASSPHRASE_CODES.has(finding.code) &&
      missingPassphrase.some((store) => finding.path?.startsWith(store))
    )
      finding.causedBy = "ENV_VAR_MISSING";
  }
  return raw;
}

/**
 * Reads and checks a configuration once, without blocking: from a JSON file (relative paths read from its folder;
 * a BOM is fine; a syntax error names its line and column) or from an object (relative paths from `baseDir`). It
 * goes parse → normalize → rules: unknown fields (with the field meant, when one is close), `env:` variables, every
 * referenced file (regular files only, bounded in size) read once through `@proj/pem`, then each rule, with
 * severities from the profile. It never throws: bad input becomes findings, ordered so the cause leads. The
 * result is what `probe`, `connectSecure` and every command take.
 *
 * @example
 * ```ts
 * const loaded = await loadConfig("config/line1-plc.json", { profile: "iec62351-3" });
 * for (const f of loaded.findings) console.log(f.severity, f.code, f.message);
 * ```
 */
export async function loadConfig(
  source: string | object,
  options: ValidateOptions = {},
): Promise<LoadedConfig> {
  if (typeof source !== "string") {
    const prepared = prepare(source, options);
    return finish(prepared, await readReferences(prepared.refs, prepared.baseDir, options.store), options);
  }
  const file = resolvePath(source);
  const read = await readBoundedFile(file, "config", source);
  const withBase = { ...options, baseDir: dirname(file) };
  if (!("bytes" in read)) return failed(withBase, read.code, read.message, file);
  const parsed = parseJsonText(read.bytes.toString("utf8"));
  if (!parsed.ok)
    return failed(
      withBase,
      "FILE_UNREADABLE",
      `The configuration file ${source} is not valid JSON: ${parsed.error}.`,
      file,
      "Correct the JSON at that line and column (a missing comma or quote, a trailing comma, a comment).",
    );
  const prepared = prepare(parsed.value, withBase);
  return finish(
    prepared,
    await readReferences(prepared.refs, prepared.baseDir, options.store),
    withBase,
    file,
  );
}

/**
 * Runs more rules (a device adapter's, say) on a configuration already loaded, without reading or checking
 * anything again: their findings are added under the same profile.
 *
 * @example
 * ```ts
 * import { profileRule } from "@proj/adapter-kit";
 * import { nexto } from "@proj/adapter-nexto";
 *
 * const checked = withRules(await loadConfig("plc.json"), [profileRule(nexto.profile, nexto.name)]);
 * ```
 */
export function withRules(loaded: LoadedConfig, rules: readonly Rule[]): LoadedConfig {
  if (!loaded.resolved || rules.length === 0) return loaded;
  const added = runRules(rules, loaded.resolved, loaded.profile, loaded.options.now ?? new Date()).flatMap(
    (f) => judge(f, loaded.profile) ?? [],
  );
  const findings = orderFindings([...loaded.findings, ...added]);
  const result: LoadedConfig = {
    ...loaded,
    ok: !hasErrors(findings),
    findings,
    options: { ...loaded.options, rules: [...(loaded.options.rules ?? []), ...rules] },
  };
  Object.defineProperty(result, LOADED, { value: true, enumerable: false });
  return result;
}

/** Settings {@link withSettings} may change: none of them names a file. */
export interface SettingsPatch {
  readonly broker?: Partial<Pick<SecurityConfig["broker"], "clientId" | "protocolVersion">>;
  readonly security?: Partial<
    Pick<SecurityConfig["security"], "minTlsVersion" | "maxTlsVersion" | "ciphers" | "alpn">
  > & {
    /** Only `[]`: stop checking CRLs (a device that cannot). */
    readonly crl?: readonly [];
  };
}

/**
 * A loaded configuration with some settings changed (TLS versions, ciphers, ALPN, MQTT version, client id, no CRL),
 * as a device would use it, without reading a file again. The input is changed alike, so a later reload keeps
 * them; the findings stay those of the configuration as written.
 *
 * @example
 * ```ts
 * const asPlc = withSettings(loaded, { security: { minTlsVersion: "TLSv1.2", maxTlsVersion: "TLSv1.2" } });
 * ```
 */
export function withSettings(loaded: LoadedConfig, patch: SettingsPatch): LoadedConfig {
  const resolved = loaded.resolved;
  if (!resolved) return loaded;
  const security = { ...resolved.config.security, ...patch.security } as SecurityConfig["security"];
  const broker = { ...resolved.config.broker, ...patch.broker };
  const input =
    loaded.input !== null && typeof loaded.input === "object"
      ? (loaded.input as Record<string, unknown>)
      : {};
  const result: LoadedConfig = {
    ...loaded,
    resolved: {
      ...resolved,
      config: { ...resolved.config, broker, security },
      crls: patch.security?.crl ? [] : resolved.crls,
    },
    input: {
      ...input,
      broker: { ...(input.broker as object | undefined), ...patch.broker },
      security: { ...(input.security as object | undefined), ...patch.security },
    },
    // Reloads start from the changed input, with the file's folder as the base of relative paths.
    file: undefined,
    options: { ...loaded.options, baseDir: loaded.resolved?.baseDir ?? loaded.options.baseDir },
  };
  Object.defineProperty(result, LOADED, { value: true, enumerable: false });
  return result;
}

/**
 * The same checks as {@link loadConfig} for an object, synchronously: it blocks the event loop while it reads the
 * files.
 *
 * @deprecated Use `await loadConfig(config, options)`, which reads without blocking and returns the object every
 * other function takes. This synchronous form goes in the next minor version.
 * @example
 * ```ts
 * const { ok, findings } = validateConfig({ broker: { url: "mqtts://broker.local:8883" } });
 * ```
 */
export function validateConfig(input: unknown, options: ValidateOptions = {}): LoadedConfig {
  const prepared = prepare(input, options);
  return finish(prepared, readReferencesSync(prepared.refs, prepared.baseDir), options);
}

function failed(
  options: ValidateOptions,
  code: FindingCode,
  message: string,
  file: string,
  remedy?: string,
): LoadedConfig {
  const profile = chooseProfile(options.profile, undefined, []);
  const result: LoadedConfig = {
    ok: false,
    findings: [createFinding(code, "error", message, remedy ? { remedy } : {})],
    resolved: undefined,
    profile,
    input: undefined,
    file,
    options,
  };
  Object.defineProperty(result, LOADED, { value: true, enumerable: false });
  return result;
}

export { FILE_LIMITS };
