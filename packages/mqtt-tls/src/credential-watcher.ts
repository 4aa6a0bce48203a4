import type { Finding } from "@proj/findings";
import type { ResolvedConfig } from "@proj/security-config";
import { unwatchFile, watchFile, type Stats } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { SecurityReport } from "./security-events.js";

/** Options of {@link CredentialWatcher}. */
export interface CredentialWatcherOptions {
  /** How often each file's status is polled. @default 1000 */
  readonly intervalMs?: number;
  /** Quiet time after the last change before `onChange` runs, so a half-written file is not read. @default 300 */
  readonly settleMs?: number;
}

/**
 * Watches credential files (key store, trust store, CRLs) by polling their status, which also sees a file replaced
 * by a rename and works on network file systems, and calls `onChange` once the changes have settled. It owns its
 * pollers and its timer: after `close()` nothing of it runs, and nothing of it ever keeps the process alive.
 *
 * @example
 * ```ts
 * const watcher = new CredentialWatcher(["certs/plc.crt", "certs/plc.key"], () => void client.reloadCredentials());
 * // ... later
 * watcher.close();
 * ```
 */
export class CredentialWatcher {
  readonly #watched: [string, (current: Stats, previous: Stats) => void][] = [];
  readonly #settleMs: number;
  readonly #onChange: () => void;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(files: readonly string[], onChange: () => void, options: CredentialWatcherOptions = {}) {
    this.#onChange = onChange;
    this.#settleMs = options.settleMs ?? 300;
    for (const file of new Set(files)) {
      const listener = (current: Stats, previous: Stats) => {
        if (
          current.mtimeMs !== previous.mtimeMs ||
          current.ino !== previous.ino ||
          current.size !== previous.size
        )
          this.#changed();
      };
      watchFile(file, { interval: options.intervalMs ?? 1000, persistent: false }, listener);
      this.#watched.push([file, listener]);
    }
  }

  #changed(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed) this.#onChange();
    }, this.#settleMs);
    this.#timer.unref();
  }

  /** Whether it was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops watching; a change already settling is dropped. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const [file, listener] of this.#watched) unwatchFile(file, listener);
    this.#watched.length = 0;
  }
}

/**
 * The files of a configuration's trust store, key store and CRLs (not those given inline as PEM), as absolute paths.
 *
 * @example
 * ```ts
 * credentialFiles(resolved); // ["/etc/plc/ca.pem", "/etc/plc/plc.crt", "/etc/plc/plc.key"]
 * ```
 */
export function credentialFiles(resolved: ResolvedConfig): string[] {
  const { security } = resolved.config;
  const values = [
    ...(security.trustStore === undefined
      ? []
      : Array.isArray(security.trustStore)
        ? security.trustStore
        : [security.trustStore]),
    security.keyStore?.certificate,
    security.keyStore?.privateKey,
    security.keyStore?.pkcs12,
    ...security.crl,
  ].filter((v): v is string => v !== undefined && !v.includes("-----BEGIN "));
  return values.map((v) => (isAbsolute(v) ? v : join(resolved.baseDir, v)));
}

/**
 * Watches the credential files of `resolved` and calls `reload` when they change. A reload that worked is reported
 * as `CREDENTIALS_RELOADED`; one that did not as `CREDENTIALS_RELOAD_FAILED`, its errors handed to `diagnosis`.
 * Nothing is reported once the watcher is closed.
 *
 * @example
 * ```ts
 * const watcher = reloadOnChange(resolved, () => client.reloadCredentials(), report, (f) => client.emit("diagnosis", f));
 * ```
 */
export function reloadOnChange(
  resolved: ResolvedConfig,
  reload: () => Promise<{ ok: boolean; findings: readonly Finding[] }>,
  report: SecurityReport,
  diagnosis: (finding: Finding) => void,
  options?: CredentialWatcherOptions,
): CredentialWatcher {
  const reloaded = async (): Promise<void> => {
    const { ok, findings } = await reload();
    if (watcher.closed) return;
    if (ok) {
      report("certificate", "CREDENTIALS_RELOADED", "notice", { files: "key store, trust store, CRLs" });
      return;
    }
    const errors = findings.filter((f) => f.severity === "error");
    report("certificate", "CREDENTIALS_RELOAD_FAILED", "warning", {
      code: errors[0]?.code ?? "",
      reason: errors[0]?.message ?? "",
    });
    for (const finding of errors) diagnosis(finding);
  };
  const watcher = new CredentialWatcher(
    credentialFiles(resolved),
    () => void reloaded().catch(() => undefined),
    options,
  );
  return watcher;
}
