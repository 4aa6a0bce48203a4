import { describe, expect, it, vi } from "vitest";
import { ExpiryMonitor, type WatchedCertificate } from "./expiry-monitor.js";

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
