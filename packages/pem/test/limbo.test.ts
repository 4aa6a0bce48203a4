import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { verifyChain } from "../src/index.js";

interface LimboCase {
  id: string;
  trusted_certs: string[];
  untrusted_intermediates: string[];
  peer_certificate: string;
  validation_time: string | null;
  expected_peer_name: { kind: "DNS" | "IP"; value: string } | null;
  max_chain_depth: number | null;
  expected_result: "SUCCESS" | "FAILURE";
}

// The corpus is committed with its licence and origin (fixtures/x509-limbo/README.md): a clone runs it as it is.
const corpusPath = fileURLToPath(new URL("fixtures/x509-limbo/limbo-2023-11.json", import.meta.url));
const corpus = readFileSync(corpusPath);
const { testcases } = JSON.parse(corpus.toString("utf8")) as { testcases: LimboCase[] };

/** Cases where this verifier's verdict differs from x509-limbo's expectation, with the reason (see README). */
const KNOWN_DISAGREEMENTS: Readonly<Record<string, string>> = {
  "pathlen::validation-ignores-pathlen-in-leaf":
    "The leaf is a CA certificate (CA:TRUE, pathlen 0) used as an end entity; strict mode refuses an end entity with CA:TRUE (CERT_CA_AS_LEAF).",
  "rfc5280::ca-nameconstraints-permitted-dn-match":
    "The leaf (CN=foo) names no DNS host at all, yet the case expects it to be valid for example.com; names are matched against the subjectAltName only (CERT_NAME_MISMATCH).",
};

function verdict(testcase: LimboCase) {
  return verifyChain({
    leaf: testcase.peer_certificate,
    intermediates: testcase.untrusted_intermediates,
    trusted: testcase.trusted_certs,
    ...(testcase.validation_time ? { time: new Date(testcase.validation_time) } : {}),
    ...(testcase.expected_peer_name ? { peerName: testcase.expected_peer_name } : {}),
    ...(testcase.max_chain_depth !== null ? { maxDepth: testcase.max_chain_depth } : {}),
    purpose: "server",
  });
}

describe("x509-limbo conformance (2023-11, 106 server cases)", () => {
  it("runs the corpus as published (its SHA-256 is the one its README names)", () => {
    expect(createHash("sha256").update(corpus).digest("hex")).toBe(
      "7c172692e3f550b954f81f9193cd769e7358379539b9eb28fdf95ae233104e9a",
    );
  });

  const results = testcases.map((testcase) => {
    const result = verdict(testcase);
    return { testcase, result, agrees: result.ok === (testcase.expected_result === "SUCCESS") };
  });

  it("agrees with the expected verdict on at least 104 of 106 cases", () => {
    const agreed = results.filter((r) => r.agrees).length;
    const disagreements = results
      .filter((r) => !r.agrees)
      .map(
        (r) =>
          `${r.testcase.id} expected ${r.testcase.expected_result}: ${r.result.findings.map((f) => `${f.code} ${f.message}`).join(" | ") || "no finding"}`,
      );
    console.log(`limbo: ${agreed}/${testcases.length} agree\n${disagreements.join("\n")}`);
    expect(testcases).toHaveLength(106);
    expect(agreed).toBeGreaterThanOrEqual(104);
  });

  it.each(results.filter((r) => !r.agrees).map((r) => [r.testcase.id] as const))(
    "%s is a documented disagreement",
    (id) => {
      expect(
        KNOWN_DISAGREEMENTS[id],
        `${id} disagrees with x509-limbo and is not listed with a reason`,
      ).toBeDefined();
    },
  );
});
