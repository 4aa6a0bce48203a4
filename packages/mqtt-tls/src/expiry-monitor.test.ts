import { describe, expect, it, vi } from "vitest";
import type { ResolvedConfig } from "@proj/security-config";
import type { CertificateSummary } from "./diagnose.js";
import {
  ExpiryMonitor,
  expiresSoonFinding,
  watchedCertificates,
  type WatchedCertificate,
} from "./expiry-monitor.js";

const DAY = 86_400_000;

describe("ExpiryMonitor", () => {
  it("tells which certificates expire within the threshold, reading both at every check", () => {
    const now = Date.UTC(2026, 11, 2);
    let certificates: WatchedCertificate[] = [
      { role: "client certificate", subject: "CN=plc", validTo: new Date(now + 10 * DAY + 1000) },
      { role: "broker's certificate", subject: "CN=broker", validTo: new Date(now + 400 * DAY) },
    ];
    let days = 30;
    const told: [string, number][] = [];
    const monitor = new ExpiryMonitor(
      () => certificates,
      () => days,
      (certificate, left) => told.push([certificate.subject, left]),
    );
    monitor.check(now);
    expect(told).toEqual([["CN=plc", 10]]);
    // A rotation and a stricter threshold are seen at the next check.
    certificates = [{ role: "client certificate", subject: "CN=plc-2027", validTo: new Date(now - DAY) }];
    days = 500;
    monitor.check(now);
    expect(told.at(-1)).toEqual(["CN=plc-2027", -1]);
    monitor.close();
    monitor.check(now);
    expect(told).toHaveLength(2);
  });

  it("checks again a day later, and leaves no timer behind once closed", () => {
    vi.useFakeTimers();
    try {
      let checks = 0;
      const monitor = new ExpiryMonitor(
        () => {
          checks++;
          return [];
        },
        () => 30,
        () => undefined,
      );
      monitor.check();
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(DAY);
      expect(checks).toBe(2);
      monitor.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("watchedCertificates and expiresSoonFinding", () => {
  it("watch the client's own certificate and, once seen, the broker's", () => {
    const notAfter = new Date("2027-03-01T00:00:00Z");
    const resolved = { keyStore: { leaf: { subject: "CN=plc", notAfter } } } as unknown as ResolvedConfig;
    expect(watchedCertificates(resolved, undefined)).toEqual([
      { role: "client certificate", subject: "CN=plc", validTo: notAfter },
    ]);
    const broker = { subject: "CN=broker", validTo: "2026-12-24T00:00:00.000Z" } as CertificateSummary;
    const tlsInfo = { protocol: "TLSv1.3", cipher: undefined, peerChain: [broker], sessionReused: false };
    expect(watchedCertificates(resolved, tlsInfo)).toEqual([
      { role: "client certificate", subject: "CN=plc", validTo: notAfter },
      { role: "broker's certificate", subject: "CN=broker", validTo: new Date("2026-12-24T00:00:00Z") },
    ]);
    expect(watchedCertificates({} as ResolvedConfig, undefined)).toEqual([]);
  });

  it("warn with the certificate, the days left and the date, and how to renew without a restart", () => {
    const finding = expiresSoonFinding(
      { role: "broker's certificate", subject: "CN=broker", validTo: new Date("2026-12-24T00:00:00Z") },
      12,
    );
    expect(finding).toMatchObject({
      code: "CERT_EXPIRES_SOON",
      severity: "warning",
      message: 'The broker\'s certificate "CN=broker" expires in 12 day(s), on 2026-12-24T00:00:00.000Z.',
      remedy: "Renew it before then; reloadCredentials() picks up the new files without a restart.",
    });
  });
});
