import type { CertStore, StoreItem } from "@proj/cert-store";
import {
  loadConfig,
  type LoadedConfig,
  type StoreResolver,
  type ValidateOptions,
} from "@proj/security-config";
import { isAbsolute, resolve } from "node:path";
import type { CliIo } from "./io.js";

/** Where the store is: `--store`, else `MQTT_TLS_STORE`, else `./mqtt-tls-store.db`; a file path is from the cwd. */
function storeLocation(io: CliIo, flag?: string): string {
  const location = flag ?? io.env.MQTT_TLS_STORE ?? "mqtt-tls-store.db";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location) || isAbsolute(location)) return location;
  return resolve(io.cwd, location.replace(/^(sqlite|file):/, ""));
}

/**
 * Opens the store the CLI is pointed at, with its passphrase from `MQTT_TLS_STORE_PASSPHRASE` (never a flag: it
 * would show in `ps`). The store packages load only here, so commands that use no store start no faster or slower.
 */
export async function openCliStore(io: CliIo, flag?: string): Promise<CertStore> {
  const [{ openCertStore }, { sqliteBackend }, { postgresBackend }] = await Promise.all([
    import("@proj/cert-store"),
    import("@proj/cert-store-sqlite"),
    import("@proj/cert-store-postgres"),
  ]);
  const passphrase = io.env.MQTT_TLS_STORE_PASSPHRASE;
  return openCertStore(storeLocation(io, flag), {
    backends: [sqliteBackend, postgresBackend],
    ...(passphrase ? { passphrase } : {}),
  });
}

/**
 * `store:NAME` references of a configuration, read from the CLI's store, opened on the first one only (`open()`
 * gives the same store to write to); `close()` after the command.
 */
export function lazyStoreResolver(
  io: CliIo,
  flag?: string,
): StoreResolver & { open(): Promise<CertStore>; close(): Promise<void> } {
  let opening: Promise<CertStore> | undefined;
  const open = () => (opening ??= openCliStore(io, flag));
  return {
    open,
    async resolve(name) {
      const { storeResolver } = await import("@proj/cert-store");
      return storeResolver(await open()).resolve(name);
    },
    async close() {
      const store = await opening?.catch(() => undefined);
      await store?.close();
    },
  };
}

/**
 * `loadConfig` with `store:NAME` references read from the CLI's store (opened only if the configuration names one,
 * closed once everything is read: the loaded configuration holds the bytes).
 */
export async function loadConfigWithStore(
  source: string,
  options: Omit<ValidateOptions, "store">,
  io: CliIo,
): Promise<LoadedConfig> {
  const store = lazyStoreResolver(io);
  try {
    return await loadConfig(source, { ...options, store });
  } finally {
    await store.close();
  }
}

/** An item as the JSON output shows it: everything but the PEM text. */
export function itemJson(item: StoreItem): Record<string, unknown> {
  return {
    name: item.name,
    version: item.version,
    kind: item.kind,
    createdAt: item.createdAt.toISOString(),
    hasKey: item.hasKey,
    certificates: item.certificates.map(({ pem: _pem, ...cert }) => ({
      ...cert,
      notBefore: cert.notBefore.toISOString(),
      notAfter: cert.notAfter.toISOString(),
    })),
  };
}
