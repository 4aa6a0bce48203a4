import { createTestPki, type TestLeaf } from "@proj/test-broker";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { connect, createServer } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildChain, verifyChain } from "./chain.js";

type Pki = Awaited<ReturnType<typeof createTestPki>>;
let pki: Pki;
let other: Pki;

beforeAll(async () => {
  pki = await createTestPki({ name: "pem-chain", intermediate: true });
  other = await createTestPki({ name: "pem-chain-other" });
});
afterAll(async () => {
  await pki.cleanup();
  await other.cleanup();
});

interface Scenario {
  name: string;
  leaf: () => Promise<TestLeaf>;
  /** What the server sends after its leaf. */
  intermediates?: () => string[];
  trusted?: () => string[];
  peer?: { kind: "DNS" | "IP"; value: string };
  /** The codes strict verification reports as errors. */
  strictErrors: string[];
}

const scenarios: Scenario[] = [
  {
    name: "a valid chain, host name",
    leaf: async () => pki.server,
    peer: { kind: "DNS", value: "localhost" },
    strictErrors: [],
  },
  {
    name: "a valid chain, IP address",
    leaf: async () => pki.server,
    peer: { kind: "IP", value: "127.0.0.1" },
    strictErrors: [],
  },
  {
    name: "a missing intermediate",
    leaf: async () => pki.server,
    intermediates: () => [],
    strictErrors: ["CHAIN_INCOMPLETE"],
  },
  {
    name: "another CA in the trust store",
    leaf: async () => pki.server,
    trusted: () => [other.caPem],
    strictErrors: ["CHAIN_UNTRUSTED"],
  },
  { name: "an expired leaf", leaf: () => pki.issueServer({ expired: true }), strictErrors: ["CERT_EXPIRED"] },
  {
    name: "a leaf not valid yet",
    leaf: () => pki.issueServer({ notYetValid: true }),
    strictErrors: ["CERT_NOT_YET_VALID"],
  },
  {
    name: "a certificate for another host",
    leaf: () => pki.issueServer({ wrongName: true }),
    peer: { kind: "DNS", value: "localhost" },
    strictErrors: ["CERT_NAME_MISMATCH"],
  },
  {
    name: "an IP that is not in the certificate",
    leaf: async () => pki.server,
    peer: { kind: "IP", value: "10.9.9.9" },
    strictErrors: ["CERT_NAME_MISMATCH"],
  },
  {
    name: "a client certificate used by a server",
    leaf: () => pki.issueServer({ eku: ["clientAuth"] }),
    strictErrors: ["EKU_MISMATCH"],
  },
  { name: "no extendedKeyUsage", leaf: () => pki.issueServer({ eku: [] }), strictErrors: ["EKU_MISMATCH"] },
  {
    name: "no subjectAltName, name only in the CN",
    leaf: () => pki.issueServer({ name: "localhost", noSan: true }),
    peer: { kind: "DNS", value: "localhost" },
    strictErrors: ["CERT_NO_SAN", "CERT_NAME_MISMATCH"],
  },
  {
    name: "a SHA-1 signature",
    leaf: () => pki.issueServer({ signatureHash: "SHA-1" }),
    strictErrors: ["WEAK_SIGNATURE"],
  },
  {
    name: "an RSA 1024 key",
    leaf: () => pki.issueServer({ keyType: "rsa1024" }),
    strictErrors: ["WEAK_KEY"],
  },
];

/** What Node's TLS client (OpenSSL) says of the same chain in a real handshake. */
async function handshake(
  leaf: TestLeaf,
  sent: string[],
  trusted: string[],
  peer: Scenario["peer"],
): Promise<string> {
  let server: ReturnType<typeof createServer>;
  try {
    server = createServer({ cert: leaf.cert + sent.join(""), key: leaf.key }, (socket) => socket.end());
  } catch (error) {
    // OpenSSL refuses to even load some certificates (e.g. "ca md too weak" for SHA-1): a refusal too.
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
  server.on("tlsClientError", () => undefined);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<string>((resolve) => {
      const socket = connect({
        host: peer?.kind === "IP" ? peer.value : "127.0.0.1",
        port,
        ca: trusted,
        ...(peer?.kind === "DNS" ? { servername: peer.value } : {}),
        // Without a peer name, judge the chain only (as verifyChain does).
        ...(peer ? {} : { checkServerIdentity: () => undefined }),
      });
      socket.once("secureConnect", () => {
        socket.destroy();
        resolve("ok");
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
  } finally {
    server.close();
  }
}

describe("verifyChain", () => {
  it.each(scenarios)(
    "agrees with a Node TLS handshake on $name, and says why when strict",
    async (scenario) => {
      const leaf = await scenario.leaf();
      const intermediates = scenario.intermediates?.() ?? [pki.intermediate!.cert];
      const trusted = scenario.trusted?.() ?? [pki.caPem];
      const peer = scenario.peer;
      const input = { leaf: leaf.cert, intermediates, trusted, ...(peer ? { peerName: peer } : {}) };

      const lenient = verifyChain({ ...input, strict: false });
      const node =
        peer?.kind === "IP" && peer.value !== "127.0.0.1"
          ? await nodeVerdictForForeignIp(leaf, intermediates, trusted, peer.value)
          : await handshake(leaf, intermediates, trusted, peer);
      expect({ ok: lenient.ok, node }).toEqual({ ok: node === "ok", node });

      const strict = verifyChain(input);
      expect(strict.ok).toBe(scenario.strictErrors.length === 0);
      expect(strict.findings.filter((f) => f.severity === "error").map((f) => f.code)).toEqual(
        scenario.strictErrors,
      );
      for (const finding of strict.findings) expect(finding.message.length).toBeGreaterThan(20);
    },
  );

  it("returns the path it checked, leaf to root, and finds it whatever order the intermediates come in", async () => {
    await using deep = await createTestPki({ name: "pem-chain-deep", intermediate: true });
    const result = verifyChain({
      leaf: deep.server.cert,
      intermediates: [other.caPem, deep.intermediate!.cert],
      trusted: [pki.caPem, deep.caPem],
    });
    expect(result.ok).toBe(true);
    expect(result.chain.map((c) => c.subject.oneLine)).toEqual([
      deep.server.subject,
      deep.intermediate!.subject,
      deep.root.subject,
    ]);
  });

  it("names the missing intermediate with its key id", () => {
    const result = verifyChain({ leaf: pki.server.cert, trusted: [pki.caPem] });
    const [finding] = result.findings;
    expect(finding!.code).toBe("CHAIN_INCOMPLETE");
    expect(finding!.message).toContain(`"${pki.intermediate!.subject}"`);
    const keyId = result.chain[0]!.authorityKeyId!;
    expect(keyId).toMatch(/^[0-9a-f]{40}$/);
    expect(finding!.message).toContain(`key id ${keyId.replace(/(..)(?!$)/g, "$1:")}`);
  });

  it("says when the chain ends at a root the trust store does not hold, sent or not", () => {
    for (const intermediates of [[pki.intermediate!.cert, pki.caPem], [pki.intermediate!.cert]]) {
      const result = verifyChain({ leaf: pki.server.cert, intermediates, trusted: [other.caPem] });
      expect(result.findings.map((f) => f.code)).toEqual(["CHAIN_UNTRUSTED"]);
      expect(result.findings[0]!.message).toContain(pki.root.subject.split(",")[0]!);
    }
  });

  it("refuses an intermediate that is not a CA, and validates at the time given", async () => {
    await using broken = await createTestPki({ name: "pem-chain-broken", intermediate: { ca: false } });
    const result = verifyChain({
      leaf: broken.server.cert,
      intermediates: [broken.intermediate!.cert],
      trusted: [broken.caPem],
    });
    expect(result.findings.filter((f) => f.severity === "error").map((f) => f.code)).toContain("NOT_A_CA");
    const later = verifyChain({
      leaf: pki.server.cert,
      intermediates: [pki.intermediate!.cert],
      trusted: [pki.caPem],
      time: new Date(Date.now() + 400 * 86_400_000),
    });
    expect(later.findings.map((f) => f.code)).toEqual(["CERT_EXPIRED"]);
  });

  it("checks client certificates for clientAuth", () => {
    const input = { leaf: pki.client.cert, intermediates: [pki.intermediate!.cert], trusted: [pki.caPem] };
    expect(verifyChain({ ...input, purpose: "client" }).ok).toBe(true);
    expect(verifyChain({ ...input, purpose: "server", strict: false }).findings.map((f) => f.code)).toContain(
      "EKU_MISMATCH",
    );
  });

  it("turns unreadable input into findings instead of throwing", () => {
    expect(verifyChain({ leaf: "garbage", trusted: [pki.caPem] })).toMatchObject({
      ok: false,
      findings: [{ code: "NOT_PEM" }],
      chain: [],
    });
    expect(
      verifyChain({
        leaf: pki.server.cert,
        intermediates: [pki.intermediate!.cert],
        trusted: [],
      }).findings.map((f) => f.code),
    ).toContain("TRUST_STORE_EMPTY");
  });
});

/** A server on 127.0.0.1 cannot be reached as 10.9.9.9: ask Node's own identity check about that address instead. */
async function nodeVerdictForForeignIp(
  leaf: TestLeaf,
  sent: string[],
  trusted: string[],
  ip: string,
): Promise<string> {
  const { checkServerIdentity } = await import("node:tls");
  const { X509Certificate } = await import("node:crypto");
  const chainVerdict = await handshake(leaf, sent, trusted, undefined);
  if (chainVerdict !== "ok") return chainVerdict;
  const error = checkServerIdentity(ip, new X509Certificate(leaf.cert).toLegacyObject());
  return error ? ((error as NodeJS.ErrnoException).code ?? "mismatch") : "ok";
}

describe("buildChain", () => {
  it("orders a bundle leaf first and says the given order was wrong", () => {
    const result = buildChain(pki.intermediate!.cert + pki.server.cert);
    expect(result.findings.map((f) => f.code)).toEqual(["CHAIN_ORDER", "CHAIN_INCOMPLETE"]);
    expect(result.pem).toBe(pki.server.cert + pki.intermediate!.cert);
    const withRoot = buildChain([pki.caPem, pki.intermediate!.cert, pki.server.cert], {
      trusted: [pki.caPem],
    });
    expect(withRoot.findings.map((f) => f.code)).toEqual(["CHAIN_ORDER"]);
    expect(withRoot.chain.map((c) => c.subject.oneLine)).toEqual([
      pki.server.subject,
      pki.intermediate!.subject,
      pki.root.subject,
    ]);
  });

  it("finds the chain complete when the trust store holds the issuer of the top", () => {
    const result = buildChain(pki.server.chain, { trusted: [pki.caPem] });
    expect(result.findings).toEqual([]);
    expect(result.chain).toHaveLength(3);
  });

  it("names a missing intermediate, and a trust store without the root", () => {
    const missing = buildChain(pki.server.cert, { trusted: [pki.caPem], source: "client-chain.pem" });
    expect(missing.findings).toMatchObject([{ code: "CHAIN_INCOMPLETE" }]);
    expect(missing.findings[0]!.message).toContain(`"${pki.intermediate!.subject}"`);
    expect(missing.findings[0]!.remedy).toContain("client-chain.pem");
    const untrusted = buildChain(pki.server.chain + pki.caPem, { trusted: [other.caPem] });
    expect(untrusted.findings.map((f) => f.code)).toEqual(["CHAIN_UNTRUSTED"]);
  });

  it("flags certificates that do not belong to the chain", () => {
    const result = buildChain(pki.server.chain + other.server.cert, { trusted: [pki.caPem] });
    expect(result.findings).toMatchObject([
      { code: "CHAIN_ORDER", message: expect.stringContaining("is not part of the chain") },
    ]);
  });
});
