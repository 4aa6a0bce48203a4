import { createTestPki } from "@proj/test-broker";
import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { inspectCertificate } from "./certificate.js";

describe("inspectCertificate", () => {
  it("reads names, SANs, validity, key, signature, constraints, usages, key ids and fingerprints", async () => {
    await using pki = await createTestPki({ name: "pem-inspect", keyType: "ec-p384", intermediate: true });
    const leaf = await pki.issueServer({ name: "broker.plant.local", ip: ["10.1.2.3"], days: 30 });
    const info = inspectCertificate(leaf.cert);
    const intermediate = inspectCertificate(pki.intermediate!.cert);
    const node = new X509Certificate(leaf.cert);

    expect(info.subject).toEqual({
      oneLine: "CN=broker.plant.local, O=mqtt-tls test server",
      parts: [
        { type: "CN", oid: "2.5.4.3", value: "broker.plant.local" },
        { type: "O", oid: "2.5.4.10", value: "mqtt-tls test server" },
      ],
    });
    expect(info.issuer.oneLine).toBe(intermediate.subject.oneLine);
    expect(info.serialNumber).toBe(leaf.serial);
    expect(info.notAfter.getTime() - info.notBefore.getTime()).toBe(30 * 86_400_000 + 3_600_000);
    expect(info.subjectAltNames).toEqual({
      dns: ["localhost", "broker.plant.local"],
      ip: ["127.0.0.1", "::1", "10.1.2.3"],
      uri: [],
      email: [],
    });
    expect(info.publicKey).toEqual({ type: "ec", bits: 384, curve: "secp384r1" });
    expect(info.signature).toEqual({
      algorithm: "ecdsa-with-SHA384",
      oid: "1.2.840.10045.4.3.3",
      hash: "SHA-384",
    });
    expect(info.basicConstraints).toEqual({ ca: false, pathLength: undefined, critical: true });
    expect(intermediate.basicConstraints).toEqual({ ca: true, pathLength: 0, critical: true });
    expect(info.keyUsage).toEqual(["digitalSignature"]);
    expect(intermediate.keyUsage).toEqual(["keyCertSign", "cRLSign"]);
    expect(info.extKeyUsage).toEqual(["serverAuth"]);
    expect(info.authorityKeyId).toBe(intermediate.subjectKeyId);
    expect(info.subjectKeyId).toMatch(/^[0-9a-f]{40}$/);
    expect(info.version).toBe(3);
    expect(info).toMatchObject({ selfIssued: false, selfSigned: false });
    expect(inspectCertificate(pki.root.cert)).toMatchObject({ selfIssued: true, selfSigned: true });
    expect(info.fingerprints).toEqual({ sha256: node.fingerprint256, sha1: node.fingerprint });
    expect(info.spkiPin).toBe(leaf.spkiPin);
    expect(info.derSize).toBe(leaf.certDer.length);
    expect(info.pem).toBe(leaf.cert);
    expect(info.crlDistributionPoints).toEqual([]);
    expect(info.authorityInfoAccess).toEqual({ ocsp: [], caIssuers: [] });
  });

  it("reports RSA sizes and SHA-1 signatures, from PEM, DER or a Node X509Certificate", async () => {
    await using pki = await createTestPki({ name: "pem-inspect-rsa", keyType: "rsa2048" });
    const old = await pki.issueClient({ name: "old-plc", signatureHash: "SHA-1", eku: [] });
    for (const input of [old.cert, old.certDer, new X509Certificate(old.cert)]) {
      const info = inspectCertificate(input);
      expect(info.publicKey).toEqual({ type: "rsa", bits: 2048, curve: undefined });
      expect(info.signature).toMatchObject({ algorithm: "sha1WithRSAEncryption", hash: "SHA-1" });
      expect(info.keyUsage).toEqual(["digitalSignature", "keyEncipherment"]);
      expect(info.extKeyUsage).toBeUndefined();
    }
  });

  it("throws a coded PemError when there is no certificate", async () => {
    await using pki = await createTestPki({ name: "pem-inspect-none" });
    expect(() => inspectCertificate(pki.client.key)).toThrow(
      expect.objectContaining({ name: "PemError", code: "PEM_UNEXPECTED_BLOCK" }),
    );
    expect(() => inspectCertificate("not a certificate")).toThrow(
      expect.objectContaining({ code: "NOT_PEM" }),
    );
    expect(() => inspectCertificate(pki.client.cert.slice(0, 200))).toThrow(
      expect.objectContaining({ code: "PEM_MALFORMED" }),
    );
  });
});
