/** Where a test broker listens: its TLS URL and, when asked for, a plain MQTT URL. */
export interface BrokerEndpoints {
  readonly host: string;
  /** `mqtts://HOST:PORT`. */
  readonly url: string;
  readonly port: number;
  /** `mqtt://HOST:PORT` when a plain listener was asked for. */
  readonly plainUrl: string | undefined;
  readonly plainPort: number | undefined;
}

/**
 * The URL form of a loopback address: IPv6 in brackets.
 *
 * @example
 * ```ts
 * urlHost("::1"); // "[::1]"
 * ```
 */
export function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * The endpoints of a broker on `host`: its TLS URL and, with a plain port, its plain MQTT URL (IPv6 in brackets).
 *
 * @example
 * ```ts
 * brokerEndpoints("::1", 8883, undefined).url; // "mqtts://[::1]:8883"
 * ```
 */
export function brokerEndpoints(host: string, port: number, plainPort: number | undefined): BrokerEndpoints {
  const display = urlHost(host);
  return {
    host,
    url: `mqtts://${display}:${port}`,
    port,
    plainUrl: plainPort === undefined ? undefined : `mqtt://${display}:${plainPort}`,
    plainPort,
  };
}

/**
 * Waits that re-check a condition each time `notify()` says something changed, and reject after a deadline:
 * never a hang, never a polling loop.
 *
 * @example
 * ```ts
 * const { notify, waitFor } = createWaiters();
 * const seen: string[] = [];
 * const first = waitFor(() => seen[0], 5000, () => new Error("nothing seen within 5 s"));
 * seen.push("plc1");
 * notify();
 * console.log(await first); // "plc1"
 * ```
 */
export function createWaiters(): {
  notify(): void;
  waitFor<T>(check: () => T | undefined, timeoutMs: number, onTimeout: () => Error): Promise<T>;
} {
  const waiters = new Set<() => void>();
  return {
    notify() {
      for (const waiter of waiters) waiter();
    },
    waitFor<T>(check: () => T | undefined, timeoutMs: number, onTimeout: () => Error): Promise<T> {
      const ready = check();
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise<T>((resolve, reject) => {
        const waiter = (): void => {
          const value = check();
          if (value === undefined) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(value);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(onTimeout());
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}
