import type { Finding } from "@proj/findings";
import type { ResolvedConfig } from "@proj/security-config";
import type { TLSSocket } from "node:tls";
import { RenewalTimer } from "./renewal-timer.js";
import type { SecurityReport } from "./security-events.js";

/** What a {@link SessionRenewal} needs of its client. */
export interface SessionRenewalHooks {
  /** The configuration in use: its intervals and CRLs (a reload changes them). */
  readonly resolved: () => ResolvedConfig;
  /** Whether the client is connected now: nothing is renewed otherwise. */
  readonly connected: () => boolean;
  /** The TLS socket of the current connection. */
  readonly socket: () => TLSSocket | undefined;
  /** Whether the broker's certificate is verified (a renegotiation checks it again). */
  readonly rejectUnauthorized: () => boolean;
  /** Reads the credentials and CRLs again, as `reloadCredentials()` does. */
  readonly reload: () => Promise<{ ok: boolean; findings: readonly Finding[] }>;
  readonly report: SecurityReport;
}

/**
 * Session renewal and CRL refresh (IEC 62351-3), each on its own unref'd {@link RenewalTimer}, scheduled anew after
 * each handshake with {@link schedule}:
 * - every `renegotiationIntervalHours`, TLS 1.2 renegotiates; TLS 1.3 has no renegotiation and Node no KeyUpdate
 *   API, so the connection is dropped on purpose and the reconnect resumes the session (new keys, same identity);
 * - every `crlRefreshHours` (with CRLs configured) the credentials are read again and, with fresh CRLs, the session
 *   is renewed the same way so a handshake checks them; a stale or unreadable CRL is a warning and never drops it.
 *
 * A connection dropped for a renewal is {@link planned}: its close is not the broker's doing. After `close()`
 * nothing of it runs.
 *
 * @example
 * ```ts
 * const renewal = new SessionRenewal(hooks); // what it needs of the client: see SessionRenewalHooks
 * mqtt.on("connect", () => renewal.schedule());
 * ```
 */
export class SessionRenewal {
  readonly #hooks: SessionRenewalHooks;
  readonly #renewal = new RenewalTimer();
  readonly #crlRefresh = new RenewalTimer();
  #planned = false;
  #closed = false;

  constructor(hooks: SessionRenewalHooks) {
    this.#hooks = hooks;
  }

  /** The current connection was dropped for a renewal, and the next one is its renewed session. */
  get planned(): boolean {
    return this.#planned;
  }

  /** A TLS connection is up: returns whether it is a planned renewal (and no longer counts it as one). */
  renewed(): boolean {
    const planned = this.#planned;
    this.#planned = false;
    return planned;
  }

  /** Schedules the session renewal and the CRL refresh afresh (after a handshake). */
  schedule(): void {
    this.#scheduleRenewal();
    this.#scheduleCrlRefresh();
  }

  /** Drops `socket` on purpose: the reconnect that follows renews the session. */
  #renew(socket: TLSSocket | undefined): void {
    this.#planned = true;
    socket?.destroy();
  }

  #scheduleRenewal(): void {
    if (this.#closed) return;
    this.#renewal.schedule(this.#hooks.resolved().config.security.renegotiationIntervalHours, () => {
      const socket = this.#hooks.socket();
      if (this.#closed || !socket || !this.#hooks.connected()) return;
      if (socket.getProtocol() !== "TLSv1.2") return this.#renew(socket);
      const started = socket.renegotiate(
        { rejectUnauthorized: this.#hooks.rejectUnauthorized() },
        (error) => {
          if (error) {
            this.#hooks.report("tls", "SESSION_RENEGOTIATION_FAILED", "warning", { reason: error.message });
            this.#renew(socket);
          } else {
            this.#hooks.report("tls", "SESSION_RENEGOTIATED", "notice", { protocol: "TLSv1.2" });
            this.#scheduleRenewal();
          }
        },
      );
      if (!started) this.#renew(socket);
    });
  }

  #scheduleCrlRefresh(): void {
    if (this.#closed) return;
    const { crlRefreshHours, crl } = this.#hooks.resolved().config.security;
    this.#crlRefresh.schedule(
      crl.length === 0 ? undefined : crlRefreshHours,
      () => void this.#refreshCrls().catch(() => undefined),
    );
  }

  async #refreshCrls(): Promise<void> {
    if (this.#closed || !this.#hooks.connected()) return;
    const reload = await this.#hooks.reload();
    if (this.#closed) return;
    const stale = reload.findings.filter(
      (f) => f.code === "CRL_EXPIRED" || f.path?.startsWith("security.crl"),
    );
    if (!reload.ok || stale.length > 0) {
      this.#hooks.report("certificate", "CRL_STALE", "warning", {
        reason: (stale[0] ?? reload.findings[0])?.message ?? "the CRL could not be reloaded",
      });
      this.#scheduleCrlRefresh();
      return;
    }
    this.#hooks.report("certificate", "CRL_RELOADED", "notice", { crls: this.#hooks.resolved().crls.length });
    this.#renew(this.#hooks.socket());
  }

  /** Cancels both timers for good: nothing of it runs afterwards, a reload under way included. */
  close(): void {
    this.#closed = true;
    this.#renewal.cancel();
    this.#crlRefresh.cancel();
  }
}
