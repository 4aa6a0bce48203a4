import { describe, expect, it } from "vitest";
import { securityReporter, type SecurityEvent } from "./security-events.js";

describe("securityReporter", () => {
  it("emits the event, then hands the same event to every sink, timed now", () => {
    const emitted: SecurityEvent[] = [];
    const sunk: SecurityEvent[] = [];
    const report = securityReporter(
      (event) => emitted.push(event),
      [(event) => void sunk.push(event), (event) => void sunk.push(event)],
    );
    const before = Date.now();
    report("tls", "TLS_HANDSHAKE_OK", "notice", { protocol: "TLSv1.3" });
    expect(emitted).toEqual([
      {
        domain: "tls",
        mnemonic: "TLS_HANDSHAKE_OK",
        severity: "notice",
        time: expect.any(Date),
        detail: { protocol: "TLSv1.3" },
      },
    ]);
    expect(emitted[0]!.time.getTime()).toBeGreaterThanOrEqual(before);
    expect(sunk).toEqual([emitted[0], emitted[0]]);
  });

  it("takes one sink or none, and a sink that throws or rejects never reaches the caller nor the other sinks", async () => {
    const sunk: string[] = [];
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
      const report = securityReporter(
        () => undefined,
        [
          () => {
            throw new Error("sink down");
          },
          () => Promise.reject(new Error("sink unreachable")),
          (event) => void sunk.push(event.mnemonic),
        ],
      );
      expect(() => report("certificate", "CRL_STALE", "warning", {})).not.toThrow();
      securityReporter(
        () => undefined,
        (event) => void sunk.push(`alone:${event.mnemonic}`),
      )("connection", "CONNECTION_FAILED", "warning", {});
      expect(() => securityReporter(() => undefined, undefined)("tls", "X", "notice", {})).not.toThrow();
      await new Promise((resolve) => setImmediate(resolve));
      expect(sunk).toEqual(["CRL_STALE", "alone:CONNECTION_FAILED"]);
      expect(rejections).toEqual([]);
    } finally {
      process.off("unhandledRejection", onRejection);
    }
  });
});
