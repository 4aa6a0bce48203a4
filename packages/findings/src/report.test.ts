import { describe, expect, it } from "vitest";
import { FINDING_CATALOGUE, FINDING_CODES, isFindingCode } from "./catalogue.js";
import { CodedError, codedErrorGuard } from "./error.js";
import { createFinding } from "./finding.js";
import {
  escapeControl,
  mergeLiveFindings,
  orderFindings,
  renderFindings,
  summarizeFindings,
} from "./report.js";

describe("orderFindings", () => {
  it("puts errors before warnings before infos, keeping order within a group", () => {
    const report = orderFindings([
      createFinding("CLIENT_CERT_DISABLED", "info", "no client certificate"),
      createFinding("CERT_EXPIRES_SOON", "warning", "expires in 3 days"),
      createFinding("TRUST_STORE_MISSING", "error", "no trust store"),
      createFinding("FILE_NOT_FOUND", "error", "no such file"),
    ]);
    expect(report.map((f) => f.code)).toEqual([
      "TRUST_STORE_MISSING",
      "FILE_NOT_FOUND",
      "CERT_EXPIRES_SOON",
      "CLIENT_CERT_DISABLED",
    ]);
  });

  it("leads with the cause, raised to an error, and puts consequences right under it", () => {
    const report = orderFindings([
      createFinding("SERVER_CERT_UNTRUSTED", "error", "broker not trusted", {
        causedBy: "TRUST_STORE_MISSING",
      }),
      createFinding("CLIENT_CERT_REJECTED", "error", "refused", { causedBy: "CHAIN_ORDER" }),
      createFinding("TRUST_STORE_MISSING", "error", "no trust store", { causedBy: "UNKNOWN_FIELD" }),
      createFinding("CHAIN_ORDER", "warning", "wrong order"),
      createFinding("UNKNOWN_FIELD", "warning", "trustStor is not a field"),
    ]);
    expect(report.map((f) => [f.code, f.severity])).toEqual([
      ["UNKNOWN_FIELD", "error"],
      ["TRUST_STORE_MISSING", "error"],
      ["SERVER_CERT_UNTRUSTED", "error"],
      ["CHAIN_ORDER", "error"],
      ["CLIENT_CERT_REJECTED", "error"],
    ]);
  });

  it("drops a causedBy that names nothing in the report, and survives cycles", () => {
    const report = orderFindings([
      createFinding("CERT_EXPIRED", "error", "a", { causedBy: "WEAK_KEY" }),
      createFinding("NOT_PEM", "error", "b", { causedBy: "PEM_MALFORMED" }),
      createFinding("PEM_MALFORMED", "error", "c", { causedBy: "NOT_PEM" }),
    ]);
    expect(report).toHaveLength(3);
    expect(report[0]).not.toHaveProperty("causedBy");
    expect(report.filter((f) => f.causedBy !== undefined)).toHaveLength(1);
  });

  it("does not change its input", () => {
    const input = [
      createFinding("CLIENT_CERT_REJECTED", "error", "refused", { causedBy: "CHAIN_ORDER" }),
      createFinding("CHAIN_ORDER", "warning", "wrong order"),
    ];
    orderFindings(input);
    expect(input[1]!.severity).toBe("warning");
  });
});

describe("mergeLiveFindings", () => {
  it("keeps a finding both checks made once, at the live severity, and leads with the live error", () => {
    const path = "security.keyStore.privateKey";
    const report = mergeLiveFindings(
      [
        createFinding("CLIENT_CERT_DISABLED", "info", "no client certificate"),
        createFinding("WEAK_KEY", "warning", "RSA 1024", { path }),
      ],
      [
        createFinding("WEAK_KEY", "error", "refused in the handshake", { path }),
        createFinding("SERVER_CERT_UNTRUSTED", "error", "unknown CA"),
      ],
    );
    expect(report.map((f) => [f.code, f.severity])).toEqual([
      ["WEAK_KEY", "error"],
      ["SERVER_CERT_UNTRUSTED", "error"],
      ["CLIENT_CERT_DISABLED", "info"],
    ]);
    expect(report[0]?.message).toBe("RSA 1024");
  });

  it("never lowers a static finding's severity", () => {
    const report = mergeLiveFindings(
      [createFinding("CERT_EXPIRED", "error", "expired")],
      [createFinding("CERT_EXPIRED", "warning", "expired")],
    );
    expect(report).toHaveLength(1);
    expect(report[0]?.severity).toBe("error");
  });
});

describe("renderFindings", () => {
  it("prints a consequence indented under its cause, and escapes control characters", () => {
    const text = renderFindings([
      createFinding("SERVER_CERT_UNTRUSTED", "error", "broker \u001b[2J\u001b[32mOK", {
        causedBy: "FILE_NOT_FOUND",
      }),
      createFinding("FILE_NOT_FOUND", "error", "ca.pem does not exist", { remedy: "fix the path" }),
    ]);
    expect(text).not.toContain("\u001b");
    expect(text).toContain("\\u{1b}[2J");
    const lines = text.split("\n");
    const cause = lines.findIndex((l) => l.includes("FILE_NOT_FOUND") && !l.includes("follows"));
    const consequence = lines.findIndex((l) => l.includes("SERVER_CERT_UNTRUSTED"));
    expect(cause).toBeLessThan(consequence);
    expect(lines[consequence]).toMatch(/^ {6}↳ SERVER_CERT_UNTRUSTED {2}\(follows from FILE_NOT_FOUND\)$/);
  });

  it("summarises counts", () => {
    expect(summarizeFindings([])).toBe("no problems");
    expect(
      summarizeFindings([
        createFinding("NOT_PEM", "error", "x"),
        createFinding("NOT_PEM", "error", "y"),
        createFinding("CHAIN_ORDER", "warning", "z"),
      ]),
    ).toBe("2 errors, 1 warning");
  });

  it("escapes bidirectional overrides and C1 controls", () => {
    expect(escapeControl("a\u202eb\u009bc\r")).toBe("a\\u{202e}b\\u{9b}c\\u{d}");
  });
});

describe("catalogue and errors", () => {
  it("gives every code a meaning and a severity", () => {
    for (const [code, entry] of Object.entries(FINDING_CATALOGUE)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(entry.meaning.length).toBeGreaterThan(10);
      expect(["error", "warning", "info"]).toContain(entry.severity);
      expect(FINDING_CODES[code as keyof typeof FINDING_CODES]).toBe(entry.meaning);
    }
    expect(isFindingCode("CHAIN_ORDER")).toBe(true);
    expect(isFindingCode("toString")).toBe(false);
  });

  it("recognises a specialised error by name, with its cause", () => {
    class StoreError extends CodedError<"NOT_FOUND"> {
      override readonly name = "StoreError";
    }
    const isStoreError = codedErrorGuard<StoreError>("StoreError");
    const cause = new Error("ENOENT");
    const error = new StoreError("NOT_FOUND", "no item", { cause, remedy: "list the items" });
    expect(isStoreError(error)).toBe(true);
    expect(isStoreError(new Error("x"))).toBe(false);
    expect(error.cause).toBe(cause);
    expect(error.findings).toEqual([]);
    // A copy from another install: same name and shape, another class.
    const foreign = Object.assign(new Error("no item"), { name: "StoreError", code: "NOT_FOUND" });
    expect(isStoreError(foreign)).toBe(true);
  });
});
