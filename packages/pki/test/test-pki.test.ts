import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import forge from "node-forge";
import { execFile } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { createSecureContext } from "node:tls";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { KEY_TYPES, type KeyType } from "../src/keys.js";
import { createTestPki } from "../src/test-pki.js";

const EKU_SERVER = "1.3.6.1.5.5.7.3.1";
const EKU_CLIENT = "1.3.6.1.5.5.7.3.2";

function parsed(pem: string): X509Certificate {
  return new X509Certificate(pem);
}

describe("createTestPki", () => {
  it.each(KEY_TYPES)(
    "issues a verifiable root → intermediate → leaf chain with %s keys",
    async (keyType: KeyType) => {
      await using pki = await createTestPki({ keyType, intermediate: true });
      const root = parsed(pki.root.cert);
      const intermediate = parsed(pki.intermediate!.cert);
      const server = parsed(pki.server.cert);

      expect(root.ca).toBe(true);
      expect(intermediate.ca).toBe(true);
      expect(server.ca).toBe(false);
      expect(root.verify(root.publicKey)).toBe(true);
      expect(intermediate.checkIssued(root) && intermediate.verify(root.publicKey)).toBe(true);
      expect(server.checkIssued(intermediate) && server.verify(intermediate.publicKey)).toBe(true);
      expect(server.publicKey.asymmetricKeyType).toBe(
        keyType.startsWith("rsa") ? "rsa" : keyType === "ed25519" ? "ed25519" : "ec",
      );
      if (keyType.startsWith("rsa")) {
        expect(server.publicKey.asymmetricKeyDetails?.modulusLength).toBe(Number(keyType.slice(3)));
      }
      expect(server.checkPrivateKey(createPrivateKey(pki.server.key))).toBe(true);
      // The chain file is what a TLS peer sends: the leaf, then the intermediate, never the root.
      expect(pki.server.chain).toBe(pki.server.cert + pki.intermediate!.cert);
    },
  );

  it("names servers for localhost, 127.0.0.1 and ::1 plus what the test asks for", async () => {
    await using pki = await createTestPki();
    const server = await pki.issueServer({
      name: "broker.plant.local",
      dns: ["mqtt.plant.local"],
      ip: ["10.0.0.5"],
    });
    const cert = parsed(server.cert);
    for (const host of ["localhost", "broker.plant.local", "mqtt.plant.local"])
      expect(cert.checkHost(host)).toBe(host);
    for (const ip of ["127.0.0.1", "::1", "10.0.0.5"]) expect(cert.checkIP(ip)).toBe(ip);
    expect(cert.checkHost("other.plant.local")).toBeUndefined();
    expect(parsed(pki.server.cert).keyUsage).toEqual([EKU_SERVER]);
    expect(parsed(pki.client.cert).keyUsage).toEqual([EKU_CLIENT]);
  });

  it("issues the broken certificates tests need", async () => {
    await using pki = await createTestPki({ keyType: "rsa2048" });
    const now = Date.now();

    const expired = parsed((await pki.issueClient({ expired: true })).cert);
    expect(Date.parse(expired.validTo)).toBeLessThan(now);
    const future = parsed((await pki.issueServer({ notYetValid: true })).cert);
    expect(Date.parse(future.validFrom)).toBeGreaterThan(now);

    const wrongName = parsed((await pki.issueServer({ wrongName: true })).cert);
    expect(wrongName.checkHost("localhost")).toBeUndefined();
    expect(wrongName.checkIP("127.0.0.1")).toBeUndefined();
    expect(wrongName.checkHost("wrong.example")).toBe("wrong.example");

    const noSan = parsed((await pki.issueServer({ name: "legacy-plc", noSan: true })).cert);
    expect(noSan.subjectAltName).toBeUndefined();
    expect(noSan.subject).toContain("CN=legacy-plc");

    expect(parsed((await pki.issueServer({ eku: ["clientAuth"] })).cert).keyUsage).toEqual([EKU_CLIENT]);
    expect(parsed((await pki.issueServer({ eku: [] })).cert).keyUsage).toBeUndefined();

    const sha1 = new x509.X509Certificate((await pki.issueClient({ signatureHash: "SHA-1" })).cert);
    expect(sha1.signatureAlgorithm).toMatchObject({ name: "RSASSA-PKCS1-v1_5", hash: { name: "SHA-1" } });
  });

  it("refuses SHA-1 from an Ed25519 CA instead of issuing something else", async () => {
    await using pki = await createTestPki({ keyType: "ed25519" });
    await expect(pki.issueClient({ signatureHash: "SHA-1" })).rejects.toThrow(
      /Ed25519 CA cannot sign with SHA-1/,
    );
  });

  it("makes an intermediate without CA:true when asked", async () => {
    await using pki = await createTestPki({ intermediate: { ca: false } });
    expect(parsed(pki.intermediate!.cert).ca).toBe(false);
    const server = parsed(pki.server.cert);
    // Signed by it all the same, so only a verifier that checks basicConstraints refuses the chain.
    expect(server.verify(parsed(pki.intermediate!.cert).publicKey)).toBe(true);
  });

  it("exports keys as PKCS#1, SEC1, PKCS#8, encrypted PKCS#8 and DER", async () => {
    await using rsa = await createTestPki({ keyType: "rsa2048", defaultLeaves: false });
    const rsaLeaf = await rsa.issueClient();
    expect(rsaLeaf.exportKey({ encoding: "pkcs1" })).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(rsaLeaf.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const der = rsaLeaf.exportKey({ encoding: "pkcs1", format: "der" });
    expect(createPrivateKey({ key: der, format: "der", type: "pkcs1" }).asymmetricKeyType).toBe("rsa");

    const encrypted = rsaLeaf.exportKey({ passphrase: "plc-secret" });
    expect(encrypted).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(() => createPrivateKey(encrypted)).toThrow();
    expect(() => createPrivateKey({ key: encrypted, passphrase: "wrong" })).toThrow();
    expect(createPrivateKey({ key: encrypted, passphrase: "plc-secret" }).asymmetricKeyType).toBe("rsa");
    const legacy = rsaLeaf.exportKey({ passphrase: "plc-secret", cipher: "des-ede3-cbc" });
    expect(createPrivateKey({ key: legacy, passphrase: "plc-secret" }).asymmetricKeyType).toBe("rsa");
    expect(() => rsaLeaf.exportKey({ encoding: "sec1" })).toThrow(/SEC1 holds EC keys only/);

    await using ec = await createTestPki({ keyType: "ec-p384", defaultLeaves: false });
    const ecLeaf = await ec.issueServer();
    expect(ecLeaf.exportKey({ encoding: "sec1" })).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    expect(() => ecLeaf.exportKey({ encoding: "pkcs1" })).toThrow(/PKCS#1 holds RSA keys only/);
    expect(parsed(ecLeaf.cert).publicKey.asymmetricKeyDetails?.namedCurve).toBe("secp384r1");
  });

  it.each(["rsa2048", "ec-p256", "ed25519"] as const)(
    "bundles %s keys as PKCS#12, modern and legacy",
    async (keyType) => {
      await using pki = await createTestPki({ keyType, intermediate: true });
      const modern = pki.client.toPkcs12({ passphrase: "p12-secret" });
      // Node (OpenSSL 3) reads the modern bundle as a TLS identity...
      expect(() => createSecureContext({ pfx: modern, passphrase: "p12-secret" })).not.toThrow();
      expect(() => createSecureContext({ pfx: modern, passphrase: "nope" })).toThrow(/mac verify failure/i);

      // ...and refuses the legacy RC2 one, which forge still reads: the file every Windows export used to be.
      const legacy = pki.client.toPkcs12({ passphrase: "p12-secret", encryption: "legacy" });
      expect(() => createSecureContext({ pfx: legacy, passphrase: "p12-secret" })).toThrow(
        /Unsupported PKCS12 PFX data/,
      );
      const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(legacy.toString("binary")), "p12-secret");
      const bags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
      // forge parses RSA certificates; for EC and Ed25519 it hands back the certificate's ASN.1.
      const ders = bags.map((bag) => {
        const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
        return Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary");
      });
      expect(ders).toEqual([pki.client.certDer, pki.intermediate!.certDer]);
    },
  );

  it("writes CRLs OpenSSL reads, signed by the issuing CA", async () => {
    await using pki = await createTestPki({ intermediate: true });
    const revoked = await pki.issueClient({ name: "stolen-plc" });
    const crl = await pki.createCrl({ revoke: [revoked] });
    expect(crl.pem).toMatch(/^-----BEGIN X509 CRL-----\n/);
    expect(await readFile(crl.file, "utf8")).toBe(crl.pem);
    const parsedCrl = new x509.X509Crl(crl.pem.replace(/X509 CRL/g, "CRL"));
    expect(parsedCrl.issuer).toBe(new x509.X509Certificate(pki.intermediate!.cert).subject);
    expect(parsedCrl.entries.map((e) => e.serialNumber.toUpperCase())).toEqual([revoked.serial]);
    expect(
      await parsedCrl.verify({ publicKey: new x509.X509Certificate(pki.intermediate!.cert).publicKey }),
    ).toBe(true);
    // Node accepts it as a CRL for a TLS context.
    expect(() => createSecureContext({ crl: crl.pem })).not.toThrow();
    const expired = new x509.X509Crl((await pki.createCrl({ expired: true })).der);
    expect(expired.nextUpdate!.getTime()).toBeLessThan(Date.now());
  });

  it("keeps its keys private (0700 folder, 0600 files; Mosquitto's user owns them under root) and removes them on dispose", async () => {
    let dir: string;
    {
      await using pki = await createTestPki();
      dir = pki.dir;
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      const key = await stat(pki.server.files.key);
      expect(key.mode & 0o777).toBe(0o600);
      const mosquitto = (await readFile("/etc/passwd", "utf8"))
        .split("\n")
        .find((l) => l.startsWith("mosquitto:"));
      if (process.getuid?.() === 0 && mosquitto) expect(key.uid).toBe(Number(mosquitto.split(":")[2]));
      else expect(key.uid).toBe(process.getuid?.());
      expect(await readFile(pki.server.files.chain, "utf8")).toBe(pki.server.chain);
      expect(await readFile(pki.caFile, "utf8")).toBe(pki.caPem);
    }
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
  });

  it("removes a folder its process forgot to clean up when the process exits", async () => {
    const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `const { createTestPki } = await import(${JSON.stringify(entry)}); console.log((await createTestPki()).dir);`,
      ],
      { timeout: 20_000, cwd: fileURLToPath(new URL("../..", import.meta.url)) },
    );
    const dir = stdout.trim();
    expect(dir).toMatch(/mqtt-tls-pki-/);
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
  });

  it("caches keys per slot, and never lets two PKIs trust each other", async () => {
    await using a = await createTestPki({ keyType: "rsa2048" });
    await using b = await createTestPki({ keyType: "rsa2048" });
    await using other = await createTestPki({ name: "other", keyType: "rsa2048" });

    // Same name and slot: the key is reused (fast) but the CA subject differs, so no cross-trust.
    expect(a.server.spkiPin).toBe(b.server.spkiPin);
    expect(a.root.subject).not.toBe(b.root.subject);
    expect(parsed(a.server.cert).checkIssued(parsed(b.root.cert))).toBe(false);
    // Another name: other keys, so SPKI pins differ.
    expect(other.server.spkiPin).not.toBe(a.server.spkiPin);
    // A renewed certificate keeps its key; a new slot rotates it.
    const renewed = await a.issueServer();
    expect(renewed.spkiPin).toBe(a.server.spkiPin);
    expect(renewed.serial).not.toBe(a.server.serial);
    expect((await a.issueServer({ keySlot: "rotated" })).spkiPin).not.toBe(a.server.spkiPin);
    expect(a.server.spkiPin).toMatch(/^sha256\/[A-Za-z0-9+/]{43}=$/);
  });
});
