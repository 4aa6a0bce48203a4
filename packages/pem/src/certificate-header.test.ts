import { createTestPki, generateKeyPair, signCertificate } from "@proj/pki";
import { describe, expect, it } from "vitest";
import { inspectCertificate, readCertificateHeader } from "./index.js";

const same = (pem: string, der: Uint8Array) => {
  const full = inspectCertificate(pem);
  expect(readCertificateHeader(der)).toEqual({
    serialNumber: full.serialNumber,
    subject: full.subject.oneLine,
    issuer: full.issuer.oneLine,
    subjectCN: full.subject.parts.find((p) => p.type === "CN")?.value,
    issuerCN: full.issuer.parts.find((p) => p.type === "CN")?.value,
    notBefore: full.notBefore,
    notAfter: full.notAfter,
  });
};

describe("readCertificateHeader", () => {
  it("reads what inspectCertificate reads, for CAs, leaves and expired ones", async () => {
    await using pki = await createTestPki({ name: "header", intermediate: true, keyType: "rsa2048" });
    const expired = await pki.issueClient({ name: "old-plc", expired: true });
    for (const cert of [pki.root, pki.intermediate!, pki.server, pki.client, expired])
      same(cert.cert, cert.certDer);
  });

  it("reads UTF-8 names, GeneralizedTime beyond 2049, and refuses what is no certificate", async () => {
    const pair = await generateKeyPair("ec-p256");
    const cert = await signCertificate({
      subject: "CN=Überwachung Linie 1, O=Wasserwerk Süd",
      publicKey: pair.publicKey,
      keyType: pair.type,
      signingPair: pair,
      notBefore: new Date("2026-01-01T00:00:00Z"),
      notAfter: new Date("2061-01-01T00:00:00Z"),
      extensions: [],
    });
    const der = new Uint8Array(cert.rawData);
    same(cert.toString("pem"), der);
    expect(readCertificateHeader(der)?.notAfter.toISOString()).toBe("2061-01-01T00:00:00.000Z");
    expect(readCertificateHeader(der)?.subjectCN).toBe("Überwachung Linie 1");
    expect(readCertificateHeader(der.subarray(0, der.length - 3))).toBeUndefined();
    expect(readCertificateHeader(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]))).toBeUndefined();
  });
});
