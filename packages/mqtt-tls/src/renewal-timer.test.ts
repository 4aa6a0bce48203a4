import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RenewalTimer } from "./renewal-timer.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("RenewalTimer", () => {
  it("runs once after the hours given; a new schedule replaces the old; undefined hours or cancel leave none", () => {
    const timer = new RenewalTimer();
    const runs: string[] = [];
    timer.schedule(2, () => runs.push("first"));
    timer.schedule(1, () => runs.push("second"));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(3_600_000);
    expect(runs).toEqual(["second"]);
    expect(timer.pending).toBe(false);
    vi.advanceTimersByTime(3 * 3_600_000);
    expect(runs).toEqual(["second"]);
    timer.schedule(1, () => runs.push("third"));
    timer.schedule(undefined, () => runs.push("never"));
    expect(vi.getTimerCount()).toBe(0);
    timer.schedule(1, () => runs.push("cancelled"));
    timer.cancel();
    vi.advanceTimersByTime(2 * 3_600_000);
    expect(runs).toEqual(["second"]);
  });
});
