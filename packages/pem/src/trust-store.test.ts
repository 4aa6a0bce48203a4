import { X509Certificate, createPrivateKey } from "node:crypto";
import { createTestPki } from "@proj/test-broker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectCertificate } from "./certificate.js";
import { loadTrustStore } from "./trust-store.js";

type Pki = Awaited<ReturnType<typeof createTestPki>>;
let ec: Pki;
let rsa: Pki;

beforeAll(async () => {
  ec = await createTestPki({ name: "pem-store-ec", intermediate: true });
  rsa = await createTestPki({ name: "pem-store-rsa", keyType: "rsa2048" });
});
afterAll(async () => {
  await ec.cleanup();
  await rsa.cleanup();
});

describe("loadTrustStore", () => {
  it("indexes every certificate by subject and key id, as a full parse reads them", () => {
    const { store, findings } = loadTrustStore([ec.caPem + ec.intermediate!.cert, rsa.caPem + ec.caPem]);
    expect(findings).toEqual([]);
    expect(store.size).toBe(3); // the duplicate root counts once
    for (const anchor of store.anchors) {
      const full = inspectCertificate(anchor.der);
      expect(anchor.subjectKeyId).toBe(full.subjectKeyId);
      expect(anchor.info()).toEqual(full);
    }
    expect(store.toPem()).toEqual([ec.caPem, ec.intermediate!.cert, rsa.caPem]);
  });

  it("finds the issuer of a certificate by its authority key id, and by name without one", () => {
    const { store } = loadTrustStore(ec.caPem + ec.intermediate!.cert + rsa.caPem);
    expect(store.issuersOf(ec.server.cert).map((a) => a.pem)).toEqual([ec.intermediate!.cert]);
    expect(store.issuersOf(ec.intermediate!.cert).map((a) => a.pem)).toEqual([ec.caPem]);
    expect(store.issuersOf(rsa.client.certDer).map((a) => a.pem)).toEqual([rsa.caPem]);
    const keyId = inspectCertificate(rsa.caPem).subjectKeyId!;
    expect(store.bySubjectKeyId(keyId.toUpperCase().replace(/(..)(?!$)/g, "$1:"))).toHaveLength(1);
  });

  it("refuses a private key in a trust store, and reports broken and foreign blocks", () => {
    const broken = ec.caPem.replace(/\n[A-Za-z0-9+/]{64}\n/, "\n");
    const { store, findings } = loadTrustStore([rsa.caPem + rsa.client.key, broken], { source: "ca.pem" });
    expect(store.size).toBe(1);
    expect(findings.map((f) => [f.code, f.severity])).toEqual([
      ["PEM_UNEXPECTED_BLOCK", "error"],
      ["PEM_MALFORMED", "error"],
    ]);
    expect(findings[0]!.message).toContain("a private key must not be shared");
    expect(JSON.stringify(findings)).not.toContain(rsa.client.key.split("\n")[1]);
  });

  it("reads only whole DER: trailing bytes or an inner value that overruns its parent is a broken block", () => {
    const der = new X509Certificate(ec.caPem).raw;
    const armour = (bytes: Buffer) =>
      `-----BEGIN CERTIFICATE-----\n${bytes.toString("base64").replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE-----\n`;
    const trailing = Buffer.concat([der, Buffer.from([0])]);
    const overrun = Buffer.from(der);
    // The TBS starts at 4 (30 82 LL LL); its first child at 8: the version [0] (a0 03 ...). Claim one byte more.
    expect(overrun[8]).toBe(0xa0);
    overrun[9] = overrun[9]! + 1;
    // Well-formed DER that is not a certificate (a PKCS#8 key in certificate armour): no anchor either.
    const notACertificate = createPrivateKey(rsa.client.key).export({ type: "pkcs8", format: "der" });
    const { store, findings } = loadTrustStore([
      armour(trailing),
      armour(overrun),
      armour(notACertificate),
      rsa.caPem,
    ]);
    expect(store.size).toBe(1);
    expect(findings.map((f) => f.code)).toEqual(["PEM_MALFORMED", "PEM_MALFORMED", "PEM_MALFORMED"]);
    expect(JSON.stringify(findings)).not.toContain(notACertificate.toString("base64").slice(40, 80));
  });

  it("names DER input and an empty store", () => {
    expect(loadTrustStore(rsa.root.certDer, { source: "ca.der" }).findings.map((f) => f.code)).toEqual([
      "NOT_PEM_DER",
    ]);
    expect(loadTrustStore([]).findings.map((f) => f.code)).toEqual(["TRUST_STORE_EMPTY"]);
  });
});
