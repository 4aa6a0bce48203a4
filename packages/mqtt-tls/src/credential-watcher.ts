import { unwatchFile, watchFile, type Stats } from "node:fs";

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

  /** Stops watching; a change already settling is dropped. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const [file, listener] of this.#watched) unwatchFile(file, listener);
    this.#watched.length = 0;
  }
}
