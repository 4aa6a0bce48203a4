import { KEY_TYPES, createTestPki } from "@proj/test-broker";
import forge from "node-forge";
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPemError, type PemError } from "./errors.js";
import { keyMatchesCertificate, readPrivateKey } from "./keys.js";

const PASSPHRASE = "Pl4nt-4-s3cret!";
type Pki = Awaited<ReturnType<typeof createTestPki>>;
let rsa: Pki;
let ec: Pki;

beforeAll(async () => {
  rsa = await createTestPki({ name: "pem-keys-rsa", keyType: "rsa2048" });
  ec = await createTestPki({ name: "pem-keys-ec", keyType: "ec-p384" });
});
afterAll(async () => {
  await rsa.cleanup();
  await ec.cleanup();
});

function failure(run: () => unknown): PemError {
  try {
    run();
  } catch (error) {
    if (isPemError(error)) return error;
    throw error;
  }
  throw new Error("expected a PemError");
}

/** Nothing secret may appear in what a user or a log sees of an error. */
function expectNoSecrets(error: PemError, keyPem: string): void {
  const seen = [error.message, error.remedy ?? "", String(error.stack), JSON.stringify(error)].join("\n");
  expect(seen).not.toContain(PASSPHRASE);
  const body = keyPem.split("\n").filter((l) => !l.startsWith("-----") && l.length > 16);
  for (const line of body) expect(seen).not.toContain(line);
}

describe("readPrivateKey", () => {
  it.each(KEY_TYPES)("reads %s keys as PKCS#8 and encrypted PKCS#8", async (keyType) => {
    await using pki = await createTestPki({ name: `pem-keys-${keyType}`, keyType, defaultLeaves: false });
    const leaf = await pki.issueClient();
    const plain = readPrivateKey(leaf.key);
    expect(plain).toMatchObject({ encoding: "pkcs8", encrypted: false });
    expect(plain.type).toBe(keyType.startsWith("rsa") ? "rsa" : keyType === "ed25519" ? "ed25519" : "ec");
    if (keyType.startsWith("rsa")) expect(plain.bits).toBe(Number(keyType.slice(3)));
    const encrypted = readPrivateKey(leaf.exportKey({ passphrase: PASSPHRASE }), PASSPHRASE);
    expect(encrypted).toMatchObject({ encoding: "encrypted-pkcs8", encrypted: true, type: plain.type });
    expect(keyMatchesCertificate(encrypted, leaf.cert)).toBe(true);
  });

  it("reads Ed448 keys, plain and encrypted", () => {
    const { privateKey } = generateKeyPairSync("ed448");
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    expect(readPrivateKey(pem)).toMatchObject({ type: "ed448", bits: 456, encoding: "pkcs8" });
    const encrypted = privateKey.export({
      type: "pkcs8",
      format: "pem",
      cipher: "aes-256-cbc",
      passphrase: PASSPHRASE,
    }) as string;
    expect(readPrivateKey(encrypted, PASSPHRASE)).toMatchObject({ type: "ed448", encrypted: true });
  });

  it("reads PKCS#1, SEC1, legacy 3DES PKCS#8 and OpenSSL's legacy Proc-Type encryption", () => {
    expect(readPrivateKey(rsa.client.exportKey({ encoding: "pkcs1" }))).toMatchObject({
      encoding: "pkcs1",
      type: "rsa",
      bits: 2048,
    });
    expect(readPrivateKey(ec.client.exportKey({ encoding: "sec1" }))).toMatchObject({
      encoding: "sec1",
      type: "ec",
      curve: "secp384r1",
      bits: 384,
    });
    const des = rsa.client.exportKey({ passphrase: PASSPHRASE, cipher: "des-ede3-cbc" });
    expect(readPrivateKey(des, PASSPHRASE).encoding).toBe("encrypted-pkcs8");
    const forgeKey = forge.pki.privateKeyFromPem(rsa.client.exportKey({ encoding: "pkcs1" }));
    const legacy = forge.pki.encryptRsaPrivateKey(forgeKey, PASSPHRASE, {
      legacy: true,
      algorithm: "aes256",
    });
    const read = readPrivateKey(legacy, PASSPHRASE);
    expect(read).toMatchObject({ encoding: "legacy-encrypted-pem", encrypted: true });
    expect(keyMatchesCertificate(read, rsa.client.cert)).toBe(true);
  });

  it("tells a missing passphrase from a wrong one, for every encrypted shape, without leaking either", () => {
    const forgeKey = forge.pki.privateKeyFromPem(rsa.client.exportKey({ encoding: "pkcs1" }));
    const shapes = [
      rsa.client.exportKey({ passphrase: PASSPHRASE }),
      rsa.client.exportKey({ passphrase: PASSPHRASE, cipher: "des-ede3-cbc" }),
      ec.client.exportKey({ passphrase: PASSPHRASE }),
      forge.pki.encryptRsaPrivateKey(forgeKey, PASSPHRASE, { legacy: true, algorithm: "aes128" }),
    ];
    for (const pem of shapes) {
      const missing = failure(() => readPrivateKey(pem));
      expect(missing.code).toBe("KEY_ENCRYPTED_NO_PASSPHRASE");
      expect(failure(() => readPrivateKey(pem, "")).code).toBe("KEY_ENCRYPTED_NO_PASSPHRASE");
      const wrong = failure(() => readPrivateKey(pem, `${PASSPHRASE}x`));
      expect(wrong.code).toBe("KEY_PASSPHRASE_WRONG");
      expect(wrong.cause).toBeDefined();
      expectNoSecrets(wrong, pem);
      expectNoSecrets(missing, pem);
    }
  });

  it("names every wrong passphrase as wrong, also those whose decryption happens to pass the padding check", () => {
    // About one wrong passphrase in 256 decrypts a CBC-encrypted key to garbage with valid padding.
    const pem = rsa.client.exportKey({ passphrase: PASSPHRASE, cipher: "des-ede3-cbc" });
    const codes = new Set<string>();
    for (let i = 0; i < 600; i++) codes.add(failure(() => readPrivateKey(pem, `wrong-${i}`)).code);
    expect([...codes]).toEqual(["KEY_PASSPHRASE_WRONG"]);
  });

  it("refuses DER, PKCS#12 and files without a key with the finding's code and fix", () => {
    const der = failure(() => readPrivateKey(rsa.client.exportKey({ format: "der" })));
    expect(der).toMatchObject({ code: "NOT_PEM_DER" });
    expect(der.remedy).toContain("openssl pkey -inform der");
    expect(failure(() => readPrivateKey(rsa.client.toPkcs12({ passphrase: "x" }))).code).toBe(
      "NOT_PEM_PKCS12",
    );
    const certOnly = failure(() => readPrivateKey(rsa.client.cert));
    expect(certOnly).toMatchObject({
      code: "PEM_UNEXPECTED_BLOCK",
      message: "no private key in the input, only: CERTIFICATE",
    });
    expect(failure(() => readPrivateKey("hello")).code).toBe("NOT_PEM");
  });
});

describe("keyMatchesCertificate", () => {
  it("says whether a key belongs to a certificate", async () => {
    expect(keyMatchesCertificate(rsa.client.key, rsa.client.cert)).toBe(true);
    expect(keyMatchesCertificate(rsa.client.keyObject, rsa.server.cert)).toBe(false);
    expect(keyMatchesCertificate(ec.server.keyObject, rsa.server.cert)).toBe(false);
    const rotated = await rsa.issueClient({ keySlot: "rotated" });
    expect(keyMatchesCertificate(rsa.client.key, rotated.cert)).toBe(false);
  });
});
