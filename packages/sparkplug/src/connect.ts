import { FINDING_CATALOGUE, createFinding } from "@proj/findings";
import {
  isLoadedConfig,
  loadConfig,
  notMutualTls,
  type LoadedConfig,
  type ValidateOptions,
} from "@proj/security-config";
import { SparkplugError } from "./errors.js";

/**
 * The configuration a Sparkplug client connects with, read once: refused unless it is mutual TLS (Sparkplug runs
 * here only with both certificate checks), whether or not the configuration has a `sparkplug` section.
 *
 * @example
 * ```ts
 * const loaded = await loadMutualTls("config/edge.json");
 * ```
 * @throws {SparkplugError} `SPARKPLUG_NOT_MUTUAL_TLS`
 */
export async function loadMutualTls(config: unknown, options: ValidateOptions = {}): Promise<LoadedConfig> {
  const loaded = isLoadedConfig(config) ? config : await loadConfig(config as string | object, options);
  const security = loaded.resolved?.config.security;
  const refused = security ? notMutualTls(security) : undefined;
  if (refused) {
    const remedy = FINDING_CATALOGUE.SPARKPLUG_NOT_MUTUAL_TLS.remedy;
    throw new SparkplugError("SPARKPLUG_NOT_MUTUAL_TLS", refused.message, {
      remedy,
      findings: [createFinding(refused.code, "error", refused.message, { path: refused.path, remedy })],
    });
  }
  return loaded;
}
