import { createFinding, type Finding } from "@proj/findings";
import type { ResolvedConfig } from "@proj/security-config";
import type { TlsInfo } from "./probe.js";

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

/**
 * The certificates a client watches the expiry of: its own (from the key store) and the broker's (once seen).
 *
 * @example
 * ```ts
 * new ExpiryMonitor(() => watchedCertificates(resolved, client.tlsInfo), () => 30, (c, days) => console.warn(c.subject, days));
 * ```
 */
export function watchedCertificates(
  resolved: ResolvedConfig,
  tlsInfo: TlsInfo | undefined,
): WatchedCertificate[] {
  const own = resolved.keyStore?.leaf;
  const broker = tlsInfo?.peerChain[0];
  return [
    ...(own ? [{ role: "client certificate", subject: own.subject, validTo: own.notAfter }] : []),
    ...(broker
      ? [{ role: "broker's certificate", subject: broker.subject, validTo: new Date(broker.validTo) }]
      : []),
  ];
}

/**
 * The `CERT_EXPIRES_SOON` warning for a certificate that expires in `daysLeft` days.
 *
 * @example
 * ```ts
 * client.emit("diagnosis", expiresSoonFinding(certificate, 12));
 * ```
 */
export function expiresSoonFinding(
  { role, subject, validTo }: WatchedCertificate,
  daysLeft: number,
): Finding {
  return createFinding(
    "CERT_EXPIRES_SOON",
    "warning",
    `The ${role} "${subject}" expires in ${daysLeft} day(s), on ${validTo.toISOString()}.`,
    { remedy: "Renew it before then; reloadCredentials() picks up the new files without a restart." },
  );
}
