/** A certificate the {@link ExpiryMonitor} looks at. */
export interface WatchedCertificate {
  /** What it is, for the reader ("client certificate", "broker's certificate"). */
  readonly role: string;
  readonly subject: string;
  readonly validTo: Date;
}

const DAY_MS = 86_400_000;

/**
 * Tells, on every `check()` and then once a day, which certificates expire within `warnDays()`. The certificates
 * and the threshold are read at each check (they change with a rotation). It owns its daily timer (which never
 * keeps the process alive): after `close()` nothing of it runs.
 *
 * @example
 * ```ts
 * const monitor = new ExpiryMonitor(
 *   () => [{ role: "client certificate", subject: "CN=plc", validTo: new Date("2027-01-01") }],
 *   () => 30,
 *   (certificate, daysLeft) => console.warn(certificate.subject, "expires in", daysLeft, "days"),
 * );
 * monitor.check();
 * ```
 */
export class ExpiryMonitor {
  readonly #certificates: () => readonly WatchedCertificate[];
  readonly #warnDays: () => number;
  readonly #onSoon: (certificate: WatchedCertificate, daysLeft: number) => void;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    certificates: () => readonly WatchedCertificate[],
    warnDays: () => number,
    onSoon: (certificate: WatchedCertificate, daysLeft: number) => void,
  ) {
    this.#certificates = certificates;
    this.#warnDays = warnDays;
    this.#onSoon = onSoon;
  }

  /** Checks now, and again in a day. */
  check(now = Date.now()): void {
    if (this.#closed) return;
    const days = this.#warnDays();
    for (const certificate of this.#certificates()) {
      const left = Math.floor((certificate.validTo.getTime() - now) / DAY_MS);
      if (left < days) this.#onSoon(certificate, left);
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.check(), DAY_MS).unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}
