export { configJsonSchema, configSchema } from "./schema.js";
export type { SecurityConfig, SecurityConfigInput, TlsVersion } from "./schema.js";
export { BASELINE, IEC_62351_3, PROFILES, defineProfile, severityOf } from "./profiles.js";
export type { Profile, ProfileDefinition, ProfileParameters, ProfileSeverity } from "./profiles.js";
export {
  FILE_LIMITS,
  isLoadedConfig,
  loadConfig,
  validateConfig,
  withRules,
  withSettings,
} from "./validate.js";
export type { LoadedConfig, SettingsPatch, ValidateOptions, ValidationResult } from "./validate.js";
export { readBoundedFile } from "./files.js";
export type { FileKind, LoadedFile, ResolvedStoreItem, StoreResolver } from "./files.js";
export { parseJsonText } from "./json.js";
export type { JsonParseResult } from "./json.js";
export { DEFAULT_PORTS, defaultPort } from "./resolve.js";
export { checkPresentedChain } from "./presented-chain.js";
export type { BrokerUrl, RawFinding, ResolvedConfig, ResolvedKeyStore } from "./resolve.js";
export { RULES, defineRule, mutualTlsOff, notMutualTls, sparkplugIdProblem } from "./rules.js";
export type { MutualTlsSettings } from "./rules.js";
export type { Rule, RuleContext } from "./rules.js";
export { PinMismatchError, toTlsOptions } from "./tls-options.js";
export { redact } from "./redact.js";
export type { Finding, FindingCode, Severity } from "@proj/findings";
