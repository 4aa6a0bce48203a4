import { createTestPki } from "@proj/test-broker";
import { createSecureContext } from "node:tls";
import { describe, expect, it } from "vitest";
import { isPemError } from "./errors.js";
import { keyMatchesCertificate } from "./keys.js";
import { readPkcs12 } from "./pkcs12.js";

describe("readPkcs12", () => {
  it.each(["rsa2048", "ec-p256", "ed25519"] as const)(
    "reads modern and legacy %s bundles into a leaf-first chain and a key",
    async (keyType) => {
      await using pki = await createTestPki({ name: `pem-p12-${keyType}`, keyType, intermediate: true });
      for (const encryption of ["modern", "legacy"] as const) {
        const bundle = pki.client.toPkcs12({ passphrase: "p12-pass", encryption });
        const contents = readPkcs12(bundle, "p12-pass");
        expect(contents.certificates).toEqual([pki.client.cert, pki.intermediate!.cert]);
        expect(contents.chain).toBe(pki.client.chain);
        expect(contents.legacyEncryption).toBe(encryption === "legacy");
        expect(contents.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
        expect(keyMatchesCertificate(contents.key!, contents.certificates[0]!)).toBe(true);
        // What it returns is what Node's TLS takes, also for the legacy file Node itself cannot open.
        expect(() => createSecureContext({ cert: contents.chain, key: contents.key! })).not.toThrow();
      }
    },
  );

  it("says KEY_PASSPHRASE_WRONG for a wrong passphrase, without repeating it", async () => {
    await using pki = await createTestPki({ name: "pem-p12-wrong" });
    const bundle = pki.client.toPkcs12({ passphrase: "right-one" });
    let caught: unknown;
    try {
      readPkcs12(bundle, "wrong-one");
    } catch (error) {
      caught = error;
    }
    expect(isPemError(caught) && caught.code).toBe("KEY_PASSPHRASE_WRONG");
    expect(String((caught as Error).message)).not.toContain("wrong-one");
  });

  it("says NOT_PEM_PKCS12 for bytes that are no bundle", async () => {
    await using pki = await createTestPki({ name: "pem-p12-not" });
    for (const input of [pki.client.certDer, Buffer.from(pki.client.cert), new Uint8Array([1, 2, 3])]) {
      expect(() => readPkcs12(input, "x")).toThrow(
        expect.objectContaining({ name: "PemError", code: "NOT_PEM_PKCS12" }),
      );
    }
  });
});
