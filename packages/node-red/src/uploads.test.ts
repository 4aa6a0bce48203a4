import { createTestPki, type TestPki } from "@proj/pki";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromBrokerNode } from "./broker-config.js";
import { readUpload } from "./uploads.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "node-red-uploads" });
});
afterAll(async () => {
  await pki?.cleanup();
});

const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64");

describe("readUpload takes files as bytes", () => {
  it("converts a DER certificate to PEM, the same certificate", () => {
    const read = readUpload(pki.root.certDer, "trustStore", { name: "ca.der" });
    expect(read.format).toBe("der");
    expect(read.findings).toEqual([]);
    expect(new X509Certificate(read.certificates!).fingerprint256).toBe(pki.root.fingerprint256);
  });

  it("keeps PEM as it is, every certificate of a chain", () => {
    const read = readUpload(Buffer.from(pki.client.chain), "certificate", { name: "chain.pem" });
    expect(read.format).toBe("pem");
    expect(read.certificates).toBe(pki.client.chain);
  });

  it("converts a DER PKCS#8 key, and keeps an encrypted PEM key encrypted", () => {
    const der = pki.client.exportKey({ format: "der" });
    const read = readUpload(der, "privateKey", { name: "client.key.der" });
    expect(read.privateKey).toContain("-----BEGIN PRIVATE KEY-----");
    expect(createPrivateKey(read.privateKey!).equals(pki.client.keyObject)).toBe(true);

    const encrypted = pki.client.exportKey({ passphrase: "s3cret-pass" });
    const kept = readUpload(Buffer.from(encrypted), "privateKey", { name: "client.key" });
    expect(kept.privateKey).toContain("ENCRYPTED PRIVATE KEY");
  });

  it("opens a PKCS#12 bundle with its passphrase, and names a wrong or missing one without the passphrase", () => {
    const p12 = pki.client.toPkcs12({ passphrase: "bundle-pass-9" });
    const read = readUpload(p12, "pkcs12", { name: "plc.p12", passphrase: "bundle-pass-9" });
    expect(read.format).toBe("pkcs12");
    expect(createPrivateKey(read.privateKey!).equals(pki.client.keyObject)).toBe(true);
    expect(read.certificates).toContain(pki.client.cert.trim().split("\n")[1]);

    const wrong = readUpload(p12, "pkcs12", { name: "plc.p12", passphrase: "nope-123", path: "p" });
    expect(wrong.findings.map((f) => [f.code, f.path])).toEqual([["KEY_PASSPHRASE_WRONG", "p"]]);
    expect(JSON.stringify(wrong)).not.toContain("nope-123");

    const missing = readUpload(p12, "pkcs12", { name: "plc.p12" });
    expect(missing.findings[0]?.code).toBe("KEY_ENCRYPTED_NO_PASSPHRASE");
  });

  it("refuses what is no certificate, and a key where a certificate belongs", () => {
    const text = readUpload(Buffer.from("hello, this is not a certificate"), "trustStore", {
      name: "notes.txt",
    });
    expect(text.findings[0]).toMatchObject({ code: "NOT_PEM", severity: "error" });
    expect(text.findings[0]?.message).toContain("notes.txt");

    const keyAsCa = readUpload(Buffer.from(pki.client.key), "trustStore", { name: "client.key" });
    expect(keyAsCa.certificates).toBeUndefined();
    expect(keyAsCa.findings[0]?.code).toBe("TRUST_STORE_EMPTY");
    expect(JSON.stringify(keyAsCa)).not.toContain(pki.client.key.split("\n")[1]);
  });
});

describe("configFromBrokerNode", () => {
  it("puts uploads, the password and the passphrase in their places, leaving the input as it was", () => {
    const input = {
      broker: { url: "mqtts://localhost:8883" },
      security: {
        trustStore: ["upload:ca.der", "/etc/ssl/extra-ca.pem"],
        keyStore: { certificate: "upload:chain.pem", privateKey: "upload:client.key" },
      },
    };
    const before = structuredClone(input);
    const { config, findings } = configFromBrokerNode(input, {
      password: "broker-pw",
      passphrase: "key-pass",
      trustStore: b64(pki.root.certDer),
      certificate: b64(pki.client.chain),
      privateKey: b64(pki.client.exportKey({ passphrase: "key-pass" })),
    });
    expect(findings).toEqual([]);
    expect(input).toEqual(before);
    const security = config.security as { trustStore: string[]; keyStore: Record<string, string> };
    expect(security.trustStore[0]).toContain("-----BEGIN CERTIFICATE-----");
    expect(security.trustStore[1]).toBe("/etc/ssl/extra-ca.pem");
    expect(security.keyStore.passphrase).toBe("key-pass");
    expect(security.keyStore.privateKey).toContain("ENCRYPTED PRIVATE KEY");
    expect((config.broker as { password: string }).password).toBe("broker-pw");
  });

  it("turns a PKCS#12 key store into the chain and an unencrypted key kept in memory", () => {
    const { config, findings } = configFromBrokerNode(
      { broker: { url: "mqtts://localhost:8883" }, security: { keyStore: { pkcs12: "upload:plc.p12" } } },
      { passphrase: "p12-pass", pkcs12: b64(pki.client.toPkcs12({ passphrase: "p12-pass" })) },
    );
    expect(findings).toEqual([]);
    const keyStore = (config.security as { keyStore: Record<string, string> }).keyStore;
    expect(Object.keys(keyStore).sort()).toEqual(["certificate", "privateKey"]);
  });

  it("says when an upload was never deployed", () => {
    const { findings } = configFromBrokerNode(
      { broker: { url: "mqtts://localhost:8883" }, security: { trustStore: ["upload:ca.pem"] } },
      {},
    );
    expect(findings[0]).toMatchObject({ code: "FILE_NOT_FOUND", path: "security.trustStore[0]" });
  });
});
