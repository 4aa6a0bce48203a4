import { createTestPki } from "@proj/test-broker";
import forge from "node-forge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePem } from "./parse-pem.js";

type Pki = Awaited<ReturnType<typeof createTestPki>>;
let pki: Pki;
let rsa: Pki;

beforeAll(async () => {
  pki = await createTestPki({ name: "pem-parse", intermediate: true });
  rsa = await createTestPki({ name: "pem-parse-rsa", keyType: "rsa2048" });
});
afterAll(async () => {
  await pki.cleanup();
  await rsa.cleanup();
});

const codes = (input: string | Uint8Array, source?: string) =>
  parsePem(input, source === undefined ? {} : { source }).findings.map((f) => f.code);

describe("parsePem: PEM as the field writes it", () => {
  it("returns every block with its type and line, tolerating CRLF, comments and Bag Attributes", () => {
    const text = [
      "Bag Attributes",
      "    localKeyId: 01 02 03",
      "subject=CN = client",
      pki.client.cert.trimEnd(),
      "# the intermediate:",
      pki.intermediate!.cert.trimEnd(),
      pki.client.key.trimEnd(),
      "",
    ].join("\r\n");
    const { format, blocks, findings } = parsePem(text);
    expect(format).toBe("pem");
    expect(findings).toEqual([]);
    expect(blocks.map((b) => b.type)).toEqual(["certificate", "certificate", "private-key"]);
    expect(blocks[0]!.line).toBe(4);
    expect(blocks[1]!.line).toBe(blocks[0]!.endLine + 2);
    expect(blocks[0]!.der.equals(pki.client.certDer)).toBe(true);
    expect(blocks[0]!.pem).toBe(pki.client.cert);
  });

  it("names the types of keys, CRLs and requests, and keeps unknown blocks with an info finding", async () => {
    const crl = await pki.createCrl();
    const keys = await rsa.issueClient({ name: "shapes" });
    const csr = forge.pki.createCertificationRequest();
    const forgeKey = forge.pki.privateKeyFromPem(keys.exportKey({ encoding: "pkcs1" }));
    csr.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
    csr.setSubject([{ name: "commonName", value: "plc" }]);
    csr.sign(forgeKey);
    const text = [
      keys.exportKey({ encoding: "pkcs1" }),
      keys.exportKey({ passphrase: "s3cret" }),
      pki.server.exportKey({ encoding: "sec1" }),
      crl.pem,
      forge.pki.certificationRequestToPem(csr),
      "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    ].join("");
    const { blocks, findings } = parsePem(text);
    expect(blocks.map((b) => b.type)).toEqual([
      "rsa-private-key",
      "encrypted-private-key",
      "ec-private-key",
      "crl",
      "csr",
      "unknown",
    ]);
    expect(blocks[1]!.encrypted).toBe(true);
    expect(findings).toMatchObject([{ code: "PEM_UNKNOWN_BLOCK", severity: "info" }]);
  });

  it("reads a legacy OpenSSL encrypted key with its Proc-Type and DEK-Info headers", () => {
    const key = forge.pki.privateKeyFromPem(rsa.client.exportKey({ encoding: "pkcs1" }));
    const legacy = forge.pki.encryptRsaPrivateKey(key, "s3cret", { legacy: true, algorithm: "aes128" });
    const [block] = parsePem(legacy).blocks;
    expect(block).toMatchObject({
      type: "rsa-private-key",
      encrypted: true,
      headers: { "Proc-Type": "4,ENCRYPTED" },
    });
    expect(block!.headers["DEK-Info"]).toMatch(/^AES-128-CBC,/);
  });

  it("reads PEM flattened into one line, or with literal \\n as kept in environment variables", () => {
    const oneLine = pki.server.cert.replace(/\n/g, " ");
    const escaped = pki.server.cert.replace(/\n/g, "\\n");
    for (const text of [oneLine, escaped]) {
      const { blocks, findings } = parsePem(text);
      expect(findings).toEqual([]);
      expect(blocks[0]!.der.equals(pki.server.certDer)).toBe(true);
    }
  });

  it("takes the certificate out of an OpenSSL TRUSTED CERTIFICATE block", () => {
    const trusted = Buffer.concat([pki.root.certDer, Buffer.from([0x30, 0x00])]);
    const text = `-----BEGIN TRUSTED CERTIFICATE-----\n${trusted.toString("base64")}\n-----END TRUSTED CERTIFICATE-----\n`;
    const [block] = parsePem(text).blocks;
    expect(block!.type).toBe("certificate");
    expect(block!.der.equals(pki.root.certDer)).toBe(true);
  });
});

describe("parsePem: input that is not PEM, named with the exact fix", () => {
  it("recognises a DER certificate and gives the openssl x509 command", () => {
    const { format, derKind, findings } = parsePem(pki.server.certDer, { source: "certs/broker.der" });
    expect({ format, derKind }).toEqual({ format: "der", derKind: "certificate" });
    expect(findings).toMatchObject([
      {
        code: "NOT_PEM_DER",
        severity: "error",
        remedy: "openssl x509 -inform der -in broker.der -out broker.pem",
      },
    ]);
    expect(findings[0]!.message).toContain("certs/broker.der");
  });

  it.each([
    [
      "pkcs8",
      () => pki.client.exportKey({ format: "der" }),
      "private-key",
      "openssl pkey -inform der -in client.key -out client.pem",
    ],
    [
      "pkcs1",
      () => rsa.client.exportKey({ encoding: "pkcs1", format: "der" }),
      "private-key",
      "openssl pkey -inform der",
    ],
    [
      "sec1",
      () => pki.client.exportKey({ encoding: "sec1", format: "der" }),
      "private-key",
      "openssl pkey -inform der",
    ],
    [
      "encrypted pkcs8",
      () => pki.client.exportKey({ format: "der", passphrase: "x" }),
      "encrypted-private-key",
      "openssl pkcs8 -inform der",
    ],
  ] as const)("recognises a DER %s key", (_name, make, kind, remedy) => {
    const result = parsePem(make(), { source: "client.key" });
    expect(result.derKind).toBe(kind);
    expect(result.findings[0]!.code).toBe("NOT_PEM_DER");
    expect(result.findings[0]!.remedy).toContain(remedy);
  });

  it("recognises DER CRLs and PKCS#12 bundles", async () => {
    const crl = await pki.createCrl();
    expect(parsePem(crl.der, { source: "ca.crl" })).toMatchObject({
      derKind: "crl",
      findings: [{ code: "NOT_PEM_DER", remedy: "openssl crl -inform der -in ca.crl -out ca.pem" }],
    });
    const p12 = pki.client.toPkcs12({ passphrase: "x" });
    const result = parsePem(p12, { source: "plc.p12" });
    expect(result.format).toBe("pkcs12");
    expect(result.findings[0]!.code).toBe("NOT_PEM_PKCS12");
    expect(result.findings[0]!.remedy).toContain("openssl pkcs12 -in plc.p12 -nokeys -out plc-chain.pem");
  });

  it("recognises a PKCS#7 (.p7b) bundle, binary or PEM", () => {
    const p7 = forge.pkcs7.createSignedData();
    p7.addCertificate(forge.pki.certificateFromPem(rsa.server.cert));
    const der = Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), "binary");
    expect(parsePem(der, { source: "chain.p7b" })).toMatchObject({
      format: "pkcs7",
      findings: [
        {
          code: "NOT_PEM_PKCS7",
          remedy: "openssl pkcs7 -inform der -in chain.p7b -print_certs -out chain.pem",
        },
      ],
    });
    expect(codes(forge.pkcs7.messageToPem(p7))).toEqual(["NOT_PEM_PKCS7"]);
  });

  it("recognises base64 without the BEGIN/END lines", () => {
    const bare = pki.server.certDer.toString("base64").replace(/(.{64})/g, "$1\n");
    const result = parsePem(bare, { source: "broker.txt" });
    expect(result).toMatchObject({ format: "base64", derKind: "certificate" });
    expect(result.findings[0]).toMatchObject({ code: "NOT_PEM_BASE64" });
    expect(result.findings[0]!.remedy).toBe(
      "openssl base64 -d -A -in broker.txt -out broker.der && openssl x509 -inform der -in broker.der -out broker.pem",
    );
  });

  it("says NOT_PEM for empty input, unrelated text and other binary files", () => {
    expect(codes("")).toEqual(["NOT_PEM"]);
    expect(codes("   \n\n")).toEqual(["NOT_PEM"]);
    expect(codes("broker: mqtt.local\nport: 8883\n")).toEqual(["NOT_PEM"]);
    expect(codes(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]))).toEqual([
      "NOT_PEM",
    ]);
    expect(parsePem(new Uint8Array()).format).toBe("empty");
  });
});

describe("parsePem: truncated and garbled blocks", () => {
  const lines = () => pki.server.cert.trimEnd().split("\n");

  it("names a block without its END line", () => {
    const truncated = lines().slice(0, 5).join("\n");
    const [finding] = parsePem(truncated, { source: "broker.crt" }).findings;
    expect(finding).toMatchObject({ code: "PEM_MALFORMED", severity: "error" });
    expect(finding!.message).toMatch(
      /broker\.crt: the CERTIFICATE block at line 1 has no "-----END CERTIFICATE-----" line/,
    );
  });

  it("names the line that is not base64", () => {
    const garbled = lines();
    garbled[3] = garbled[3]!.slice(0, 10) + "#!" + garbled[3]!.slice(12);
    const { blocks, findings } = parsePem(`text\n${garbled.join("\n")}\n`);
    expect(blocks).toEqual([]);
    expect(findings[0]!.message).toMatch(/block at line 2 is garbled at line 5: not base64/);
  });

  it("notices a block that lost a line in the middle", () => {
    const shortened = lines();
    shortened.splice(4, 1);
    expect(parsePem(shortened.join("\n")).findings[0]!.message).toMatch(
      /does not decode: it is truncated or garbled/,
    );
  });

  it("notices mismatched BEGIN and END labels", () => {
    const text = pki.server.cert.replace("-----END CERTIFICATE-----", "-----END PRIVATE KEY-----");
    expect(parsePem(text).findings[0]!.message).toMatch(/ends with "-----END PRIVATE KEY-----"/);
  });

  it("keeps the good blocks of a file when one is broken", () => {
    const text = lines().slice(0, 6).join("\n") + "\n" + pki.root.cert;
    const { blocks, findings } = parsePem(text);
    expect(findings.map((f) => f.code)).toEqual(["PEM_MALFORMED"]);
    expect(blocks.map((b) => b.der.equals(pki.root.certDer))).toEqual([true]);
  });
});
