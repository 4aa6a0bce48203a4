import type { Finding } from "@proj/findings";
import {
  isLoadedConfig,
  loadConfig,
  validateConfig,
  withRules,
  type LoadedConfig,
  type ResolvedConfig,
  type Rule,
  type SecurityConfigInput,
  type ValidateOptions,
  type ValidationResult,
} from "@proj/security-config";
import { profileRule } from "./check.js";
import { AdapterError } from "./errors.js";
import { PROFILE_FACTS, type CertEncoding, type DeviceProfile } from "./profile.js";

/** A file {@link Adapter.toDeviceFiles} wrote. */
export interface DeviceFile {
  /** Absolute path. */
  readonly path: string;
  readonly role: "trust-store" | "certificate" | "private-key" | "key-store" | "crl";
  readonly encoding: Exclude<CertEncoding, "store">;
  /** Holds private key material: written with mode 0600. */
  readonly secret: boolean;
  /** Where it goes in the device's engineering tool, in the tool's words. */
  readonly description: string;
}

/** A value converted to or from a device's own configuration, with what did not carry over. */
export interface DeviceConfigResult<T> {
  readonly value: T;
  readonly findings: Finding[];
}

/** One tag a simulated device publishes. */
export interface SimulatedTag {
  /** Tag name, used in the topic (may contain `/`). */
  readonly name: string;
  readonly kind: "analog" | "boolean" | "counter";
  readonly unit?: string;
  /** Range of an analog tag. @default 0..100 */
  readonly min?: number;
  readonly max?: number;
}

/** How a device's simulator publishes. */
export interface SimulationSpec {
  /** The topic of each tag, with `{clientId}` and `{tag}` placeholders, e.g. `nexto/{clientId}/tags/{tag}`. */
  readonly topicTemplate: string;
  readonly tags: readonly SimulatedTag[];
  /** @default 0 */
  readonly qos?: 0 | 1;
}

/** A device family: what its MQTT client can do, and how to hand it certificates. */
export interface Adapter {
  /** Kebab-case vendor-family id, e.g. `altus-nexto`: what `device` in a config and `--device` take. */
  readonly id: string;
  readonly name: string;
  readonly vendor: string;
  readonly models: readonly string[];
  readonly description?: string;
  readonly profile: DeviceProfile;
  /** Checks of the device's own, run after the built-in rules and the profile check. */
  readonly rules?: readonly Rule[];
  /**
   * Writes the certificate files under the names and in the encodings the device's engineering tool expects.
   * @throws {AdapterError} `CONFIG_INVALID` when the configuration lacks what the files need.
   */
  toDeviceFiles?(resolved: ResolvedConfig, dir: string): Promise<DeviceFile[]>;
  /**
   * Reads the device's own configuration into ours.
   * @throws {AdapterError} `DEVICE_CONFIG_INVALID` with one finding per bad field.
   */
  fromDeviceConfig?(deviceConfig: unknown): DeviceConfigResult<SecurityConfigInput>;
  /** Writes ours as the device's own configuration; what the device cannot hold comes back as findings. */
  toDeviceConfig?(config: SecurityConfigInput): DeviceConfigResult<unknown>;
  /** How `simulateDevice` publishes for this device. */
  readonly simulation?: SimulationSpec;
  /** Device configurations that must survive `fromDeviceConfig` then `toDeviceConfig` unchanged (contract suite). */
  readonly examples?: { readonly deviceConfigs?: readonly unknown[] };
}

const ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const TLS = new Set(["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]);
const ENCODINGS = new Set(["PEM", "DER", "PKCS12", "store"]);

function problemsOf(adapter: Adapter): string[] {
  const problems: string[] = [];
  if (!ID.test(adapter.id)) problems.push(`id "${adapter.id}" is not kebab-case (e.g. "acme-plc")`);
  if (!adapter.name.trim()) problems.push("name is empty");
  if (!adapter.vendor.trim()) problems.push("vendor is empty");
  if (adapter.models.length === 0) problems.push("models is empty: name at least one model");
  const p = adapter.profile;
  if (p.mqttVersions.length === 0 || p.mqttVersions.some((v) => ![3, 4, 5].includes(v)))
    problems.push("profile.mqttVersions must list 3, 4 and/or 5");
  if (p.tlsVersions.length === 0 || p.tlsVersions.some((v) => !TLS.has(v)))
    problems.push("profile.tlsVersions must list TLSv1, TLSv1.1, TLSv1.2 and/or TLSv1.3");
  if (p.certEncodings.length === 0 || p.certEncodings.some((e) => !ENCODINGS.has(e)))
    problems.push("profile.certEncodings must list PEM, DER, PKCS12 and/or store");
  if (p.keyTypes.length === 0) problems.push("profile.keyTypes is empty");
  for (const key of p.keyTypes) {
    if (key.type === "rsa" && !(key.minBits >= 512)) problems.push("an RSA key type needs minBits");
    if (key.type === "ec" && key.curves.length === 0) problems.push("an EC key type needs curves");
  }
  for (const [name, value] of [
    ["maxCertBytes", p.maxCertBytes],
    ["maxChainDepth", p.maxChainDepth],
  ] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value > 0))
      problems.push(`profile.${name} must be a positive integer`);
  }
  for (const fact of PROFILE_FACTS) {
    if (p[fact] === undefined) continue;
    const source = p.sources[fact];
    if (!source) problems.push(`profile.${fact} has no source`);
    else if (!["documented", "assumed"].includes(source.kind) || !source.title.trim())
      problems.push(`profile.sources.${fact} needs kind "documented" or "assumed" and a title`);
  }
  for (const rule of adapter.rules ?? []) {
    if (!rule.name || rule.codes.length === 0)
      problems.push("every rule needs a name and the codes it emits");
  }
  if (adapter.simulation) {
    if (!adapter.simulation.topicTemplate.includes("{tag}"))
      problems.push("simulation.topicTemplate must contain {tag}");
    if (adapter.simulation.tags.length === 0) problems.push("simulation.tags is empty");
  }
  return problems;
}

/**
 * Declares a device adapter after checking it against the contract: a kebab-case id, a name, a vendor, at least
 * one model, a consistent profile, and a source (documented or assumed) for every profile fact.
 *
 * @example
 * ```ts
 * const manual: FactSource = { kind: "documented", title: "ACME PLC manual, chapter 7: MQTT client" };
 * export const acme = defineAdapter({
 *   id: "acme-plc", name: "ACME PLC", vendor: "ACME", models: ["P100"],
 *   profile: { mqttVersions: [4], tlsVersions: ["TLSv1.2"], certEncodings: ["PEM"],
 *     keyTypes: [{ type: "rsa", minBits: 2048 }], supportsClientCert: true, supportsCrl: false,
 *     supportsSni: true, supportsAlpn: false,
 *     sources: { mqttVersions: manual, tlsVersions: manual, certEncodings: manual, keyTypes: manual,
 *       supportsClientCert: manual, supportsCrl: manual, supportsSni: manual, supportsAlpn: manual } },
 * });
 * ```
 * @throws {AdapterError} `DEFINITION_INVALID`, listing every problem.
 */
export function defineAdapter<const T extends Adapter>(adapter: T): T {
  const problems = problemsOf(adapter);
  if (problems.length > 0) {
    throw new AdapterError(
      "DEFINITION_INVALID",
      `adapter ${JSON.stringify(adapter.id)} breaks the contract: ${problems.join("; ")}`,
    );
  }
  return Object.freeze(adapter);
}

/**
 * The checks a device adds to a configuration: its profile (`DEVICE_UNSUPPORTED`) and its own rules.
 *
 * @example
 * ```ts
 * const checked = withRules(await loadConfig("plc.json"), deviceRules(nexto));
 * ```
 */
export function deviceRules(adapter: Adapter): Rule[] {
  return [profileRule(adapter.profile, adapter.name, `device:${adapter.id}`), ...(adapter.rules ?? [])];
}

/**
 * `loadConfig` with the device's profile check and its own rules added: every built-in finding plus the device's
 * `DEVICE_UNSUPPORTED` gaps. Takes a path, an object, or a configuration already loaded (nothing is read again).
 * Never throws.
 *
 * @example
 * ```ts
 * const { ok, findings } = await loadForDevice("config/plc.json", nexto);
 * ```
 */
export async function loadForDevice(
  config: unknown,
  adapter: Adapter,
  options: ValidateOptions = {},
): Promise<LoadedConfig> {
  const loaded = isLoadedConfig(config) ? config : await loadConfig(config as object | string, options);
  return withRules(loaded, deviceRules(adapter));
}

/**
 * `validateConfig` with the device's profile check and its own rules added: every built-in finding plus the
 * device's `DEVICE_UNSUPPORTED` gaps. Never throws.
 *
 * @deprecated Use `await loadForDevice(config, adapter, options)`, which reads files without blocking.
 * @example
 * ```ts
 * const { ok, findings } = validateForDevice(config, nexto, { baseDir: "config" });
 * ```
 */
export function validateForDevice(
  config: unknown,
  adapter: Adapter,
  options: ValidateOptions = {},
): ValidationResult {
  return validateConfig(config, { ...options, rules: [...(options.rules ?? []), ...deviceRules(adapter)] });
}
