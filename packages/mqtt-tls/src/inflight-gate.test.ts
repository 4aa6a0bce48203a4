import { describe, expect, it } from "vitest";
import { InflightGate } from "./inflight-gate.js";

describe("InflightGate", () => {
  it("holds at most its limit and lets waiters in, in order, as slots free up", async () => {
    const gate = new InflightGate(2);
    expect(gate.tryAcquire()).toBe(true);
    expect(gate.tryAcquire()).toBe(true);
    expect(gate.tryAcquire()).toBe(false);
    const order: string[] = [];
    const first = gate.acquire().then(() => order.push("first"));
    const second = gate.acquire().then(() => order.push("second"));
    await Promise.resolve();
    expect(order).toEqual([]);
    gate.release();
    await first;
    expect(order).toEqual(["first"]);
    expect(gate.outstanding).toBe(2);
    gate.release();
    await second;
    expect(order).toEqual(["first", "second"]);
    expect(gate.outstanding).toBe(2);
  });
});
