import type { Finding } from "@proj/findings";
import type { ResolvedConfig } from "@proj/security-config";
import type { TLSSocket } from "node:tls";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SessionRenewal, type SessionRenewalHooks } from "./session-renewal.js";

const HOUR = 3_600_000;

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** A socket that records what is done to it; `renegotiate` answers as told. */
function socket(protocol: string, renegotiation: "ok" | "fails" | "refused" = "ok") {
  const calls: string[] = [];
  const s = {
    calls,
    getProtocol: () => protocol,
    destroy: () => void calls.push("destroy"),
    renegotiate(options: { rejectUnauthorized?: boolean }, callback: (error: Error | null) => void) {
      calls.push(`renegotiate rejectUnauthorized=${options.rejectUnauthorized}`);
      if (renegotiation === "refused") return false;
      setTimeout(() => callback(renegotiation === "ok" ? null : new Error("handshake failure")), 10);
      return true;
    },
  };
  return s as typeof s & TLSSocket;
}

function setup(
  security: { renegotiationIntervalHours?: number; crlRefreshHours?: number; crl?: string[] },
  tls: TLSSocket,
  reload: SessionRenewalHooks["reload"] = () => Promise.resolve({ ok: true, findings: [] }),
) {
  const events: string[] = [];
  let connected = true;
  const hooks: SessionRenewalHooks = {
    resolved: () =>
      ({
        config: { security: { crl: [], ...security } },
        crls: security.crl ?? [],
      }) as unknown as ResolvedConfig,
    connected: () => connected,
    socket: () => tls,
    rejectUnauthorized: () => true,
    reload,
    report: (_domain, mnemonic, severity, detail) =>
      void events.push(`${severity}:${mnemonic}:${JSON.stringify(detail)}`),
  };
  return { renewal: new SessionRenewal(hooks), events, disconnect: () => (connected = false) };
}

describe("SessionRenewal", () => {
  it("renews a TLS 1.3 session by dropping the connection on the interval: a planned reconnect", () => {
    const tls = socket("TLSv1.3");
    const { renewal } = setup({ renegotiationIntervalHours: 2 }, tls);
    renewal.schedule();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(2 * HOUR - 1);
    expect(tls.calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(tls.calls).toEqual(["destroy"]);
    expect(renewal.planned).toBe(true);
    // The next handshake is the renewal; the one after is not.
    expect(renewal.renewed()).toBe(true);
    expect(renewal.renewed()).toBe(false);
  });

  it("renegotiates TLS 1.2 on the interval, checking the broker again, and schedules the next one", () => {
    const tls = socket("TLSv1.2");
    const { renewal, events } = setup({ renegotiationIntervalHours: 1 }, tls);
    renewal.schedule();
    vi.advanceTimersByTime(HOUR + 10);
    expect(tls.calls).toEqual(["renegotiate rejectUnauthorized=true"]);
    expect(events).toEqual(['notice:SESSION_RENEGOTIATED:{"protocol":"TLSv1.2"}']);
    expect(renewal.planned).toBe(false);
    vi.advanceTimersByTime(HOUR + 10);
    expect(tls.calls).toHaveLength(2);
  });

  it("falls back to a planned reconnect when a renegotiation fails or cannot start", () => {
    const failing = socket("TLSv1.2", "fails");
    const first = setup({ renegotiationIntervalHours: 1 }, failing);
    first.renewal.schedule();
    vi.advanceTimersByTime(HOUR + 10);
    expect(failing.calls).toEqual(["renegotiate rejectUnauthorized=true", "destroy"]);
    expect(first.events).toEqual(['warning:SESSION_RENEGOTIATION_FAILED:{"reason":"handshake failure"}']);
    expect(first.renewal.planned).toBe(true);

    const refused = socket("TLSv1.2", "refused");
    const second = setup({ renegotiationIntervalHours: 1 }, refused);
    second.renewal.schedule();
    vi.advanceTimersByTime(HOUR);
    expect(refused.calls).toEqual(["renegotiate rejectUnauthorized=true", "destroy"]);
    expect(second.renewal.planned).toBe(true);
  });

  it("renews nothing while disconnected, and schedules nothing without an interval", () => {
    const tls = socket("TLSv1.3");
    const { renewal, disconnect } = setup({ renegotiationIntervalHours: 1 }, tls);
    renewal.schedule();
    disconnect();
    vi.advanceTimersByTime(HOUR);
    expect(tls.calls).toEqual([]);
    expect(renewal.planned).toBe(false);
    const none = setup({ crlRefreshHours: 1 }, tls);
    none.renewal.schedule();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("refreshes CRLs on their interval and renews the session to apply them; a stale CRL only warns", async () => {
    const tls = socket("TLSv1.3");
    let findings: Finding[] = [];
    const { renewal, events } = setup({ crlRefreshHours: 1, crl: ["ca.crl"] }, tls, () =>
      Promise.resolve({ ok: true, findings }),
    );
    renewal.schedule();
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(events).toEqual(['notice:CRL_RELOADED:{"crls":1}']);
    expect(tls.calls).toEqual(["destroy"]);
    expect(renewal.renewed()).toBe(true);

    findings = [{ code: "CRL_EXPIRED", severity: "warning", message: "The CRL expired." }];
    renewal.schedule();
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(events.at(-1)).toBe('warning:CRL_STALE:{"reason":"The CRL expired."}');
    expect(tls.calls).toEqual(["destroy"]);
    expect(renewal.planned).toBe(false);
    // A stale CRL is tried again on the interval.
    expect(vi.getTimerCount()).toBe(1);
  });

  it("leaves no timer once closed, and a reload that finishes after close does nothing", async () => {
    const tls = socket("TLSv1.2");
    let finish!: () => void;
    const { renewal, events } = setup(
      { renegotiationIntervalHours: 1, crlRefreshHours: 0.5, crl: ["ca.crl"] },
      tls,
      () => new Promise((resolve) => (finish = () => resolve({ ok: true, findings: [] }))),
    );
    renewal.schedule();
    expect(vi.getTimerCount()).toBe(2);
    await vi.advanceTimersByTimeAsync(HOUR / 2);
    renewal.close();
    expect(vi.getTimerCount()).toBe(0);
    finish();
    await vi.advanceTimersByTimeAsync(2 * HOUR);
    expect(events).toEqual([]);
    expect(tls.calls).toEqual([]);
    renewal.schedule();
    expect(vi.getTimerCount()).toBe(0);
  });
});
