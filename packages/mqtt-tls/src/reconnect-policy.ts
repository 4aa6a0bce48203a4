/** Reconnect pacing: exponential backoff with full jitter. */
export interface BackoffOptions {
  /** @default 500 */
  minMs?: number;
  /** @default 30000 */
  maxMs?: number;
  /** A connection that lasted this long resets the backoff. @default 60000 */
  resetAfterMs?: number;
}

/**
 * Full jitter: a random delay up to the exponential bound (AWS architecture blog's "Full Jitter").
 *
 * @example
 * ```ts
 * backoffDelay(3, { minMs: 500, maxMs: 30_000 }); // between 250 and 4000 ms
 * ```
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const min = options.minMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const bound = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.round(min / 2 + random() * (bound - min / 2));
}

/**
 * When to try again after a connection closed: exponential backoff with full jitter, the maximum for a permanent
 * failure (a certificate, credentials: no retry storm), and a fresh start after a connection that lasted. It owns
 * its one timer: `cancel()` (or a new `schedule()`) clears it.
 *
 * @example
 * ```ts
 * const policy = new ReconnectPolicy({ minMs: 500, maxMs: 30_000 });
 * client.on("connect", () => policy.connected());
 * client.on("close", () => policy.schedule(() => client.reconnect(), { wasConnected: true, permanent: false }));
 * ```
 */
export class ReconnectPolicy {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #attempts = 0;
  #connectedAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** Attempts since the backoff last started afresh. */
  get attempts(): number {
    return this.#attempts;
  }

  /**
   * A connection came up. Only one that lasts `resetAfterMs` starts the backoff afresh when it drops: a broker that
   * accepts and then closes at once (flapping) is not hammered at the shortest delay.
   */
  connected(now = Date.now()): void {
    this.#connectedAt = now;
  }

  /** Runs `reconnect` after the delay this close calls for, and returns that delay. */
  schedule(
    reconnect: () => void,
    close: { readonly wasConnected: boolean; readonly permanent: boolean },
    now = Date.now(),
  ): number {
    if (close.wasConnected && now - this.#connectedAt > (this.#options.resetAfterMs ?? 60_000))
      this.#attempts = 0;
    this.#attempts++;
    const delay = close.permanent
      ? (this.#options.maxMs ?? 30_000)
      : backoffDelay(this.#attempts - 1, this.#options, this.#random);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(reconnect, delay);
    return delay;
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
