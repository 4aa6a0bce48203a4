import { createFinding } from "@proj/findings";
import { isLoadedConfig, loadConfig, type LoadedConfig, type ValidateOptions } from "@proj/security-config";
import { SparkplugError } from "./errors.js";

/**
 * The configuration a Sparkplug client connects with, read once: refused unless it is mutual TLS (Sparkplug runs
 * here only with both certificate checks).
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
  if (
    security &&
    !(security.enableTls && security.checkServerCertificate && security.sendClientCertificate)
  ) {
    const off = [
      !security.enableTls && "enableTls",
      !security.checkServerCertificate && "checkServerCertificate",
      !security.sendClientCertificate && "sendClientCertificate",
    ].filter(Boolean);
    const message = `Sparkplug runs only over mutual TLS, and ${off.join(", ")} ${off.length > 1 ? "are" : "is"} off.`;
    const remedy =
      'Set "enableTls", "checkServerCertificate" and "sendClientCertificate" to true, with a trust store and a key store.';
    throw new SparkplugError("SPARKPLUG_NOT_MUTUAL_TLS", message, {
      remedy,
      findings: [createFinding("SPARKPLUG_NOT_MUTUAL_TLS", "error", message, { path: "security", remedy })],
    });
  }
  return loaded;
}
