import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ReconnectPolicy } from "./reconnect-policy.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("ReconnectPolicy", () => {
  it("backs off exponentially, and waits the maximum for a permanent failure", () => {
    const policy = new ReconnectPolicy({ minMs: 100, maxMs: 1000 }, () => 1); // always the upper bound
    const close = { wasConnected: false, permanent: false };
    expect([1, 2, 3, 4, 5].map(() => policy.schedule(() => undefined, close))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    expect(policy.attempts).toBe(5);
    expect(policy.schedule(() => undefined, { wasConnected: false, permanent: true })).toBe(1000);
  });

  it("keeps one timer: a new schedule replaces it, cancel clears it", () => {
    const policy = new ReconnectPolicy({ minMs: 100, maxMs: 1000 }, () => 0);
    let runs = 0;
    policy.schedule(() => runs++, { wasConnected: false, permanent: false });
    policy.schedule(() => runs++, { wasConnected: false, permanent: false });
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(runs).toBe(1);
    policy.schedule(() => runs++, { wasConnected: false, permanent: false });
    policy.cancel();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(runs).toBe(1);
  });

  it("starts afresh after a connection that lasted resetAfterMs, not after one the broker closed at once", () => {
    const policy = new ReconnectPolicy({ minMs: 100, maxMs: 10_000, resetAfterMs: 60_000 }, () => 1);
    const dropped = { wasConnected: true, permanent: false };
    for (let i = 0; i < 3; i++) policy.schedule(() => undefined, { wasConnected: false, permanent: false });
    policy.connected(0);
    // Flapping: closed 10 s after it came up, the backoff goes on growing.
    expect(policy.schedule(() => undefined, dropped, 10_000)).toBe(800);
    policy.connected(20_000);
    // A connection of two minutes: the next drop starts from the shortest delay.
    expect(policy.schedule(() => undefined, dropped, 140_000)).toBe(100);
    expect(policy.attempts).toBe(1);
  });
});
