import forge from "node-forge";
import { createHash, randomBytes, type KeyObject } from "node:crypto";

const { asn1 } = forge;
const OID = {
  data: "1.2.840.113549.1.7.1",
  encryptedData: "1.2.840.113549.1.7.6",
  certBag: "1.2.840.113549.1.12.10.1.3",
  pkcs8ShroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
  pbeWithSHAAnd40BitRC2: "1.2.840.113549.1.12.1.6",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
} as const;

/** Options for a PKCS#12 bundle. */
export interface Pkcs12Options {
  /** Protects the key and the MAC. */
  passphrase: string;
  /**
   * `modern` (default): PBES2/AES-256-CBC key, SHA-256 MAC, what OpenSSL 3 writes.
   * `legacy`: certificates encrypted with RC2-40, key with 3DES, SHA-1 MAC: what Windows and older OpenSSL wrote,
   * and what Node's OpenSSL 3 refuses without the legacy provider.
   */
  encryption?: "modern" | "legacy";
  /** Put the intermediates in the bundle too. @default true */
  includeChain?: boolean;
  /** Key-derivation iterations for the MAC and legacy encryption (fuzz tests want few). @default 2048 */
  iterations?: number;
}

type Asn1 = forge.asn1.Asn1;
const { Class, Type } = asn1;

const seq = (value: Asn1[]): Asn1 => asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, value);
const set = (value: Asn1[]): Asn1 => asn1.create(Class.UNIVERSAL, Type.SET, true, value);
const oid = (id: string): Asn1 => asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(id).getBytes());
const octets = (bytes: string): Asn1 => asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, bytes);
const integer = (n: number): Asn1 =>
  asn1.create(Class.UNIVERSAL, Type.INTEGER, false, asn1.integerToDer(n).getBytes());
const explicit0 = (value: Asn1): Asn1 => asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [value]);
const der = (node: Asn1): string => asn1.toDer(node).getBytes();
const binary = (bytes: Uint8Array): string => Buffer.from(bytes).toString("binary");

function bmpString(text: string): Asn1 {
  let bytes = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    bytes += String.fromCharCode(code >> 8, code & 0xff);
  }
  return asn1.create(Class.UNIVERSAL, Type.BMPSTRING, false, bytes);
}

function dataContentInfo(content: string): Asn1 {
  return seq([oid(OID.data), explicit0(octets(content))]);
}

function rc2EncryptedContentInfo(content: string, passphrase: string, iterations: number): Asn1 {
  const salt = randomBytes(8).toString("binary");
  const key = forge.pkcs12.generateKey(passphrase, forge.util.createBuffer(salt), 1, iterations, 5);
  const iv = forge.pkcs12.generateKey(passphrase, forge.util.createBuffer(salt), 2, iterations, 8);
  const cipher = forge.rc2.createEncryptionCipher(key, 40);
  cipher.start(iv);
  cipher.update(forge.util.createBuffer(content));
  cipher.finish();
  const algorithm = seq([oid(OID.pbeWithSHAAnd40BitRC2), seq([octets(salt), integer(iterations)])]);
  const encrypted = asn1.create(Class.CONTEXT_SPECIFIC, 0, false, cipher.output.getBytes());
  const encryptedData = seq([integer(0), seq([oid(OID.data), algorithm, encrypted])]);
  return seq([oid(OID.encryptedData), explicit0(encryptedData)]);
}

/**
 * Writes a PKCS#12 (.p12/.pfx) bundle for any key type (forge's own writer handles RSA only): the ASN.1 is
 * assembled with node-forge, the key is encrypted by Node (PBES2) or forge (legacy 3DES), the MAC uses forge's
 * PKCS#12 key derivation.
 *
 * @example
 * ```ts
 * const p12 = toPkcs12({ key: privateKey, certs: [leafDer, intermediateDer], friendlyName: "plc1" }, { passphrase });
 * await writeFile("plc1.p12", p12);
 * ```
 */
export function toPkcs12(
  input: { key: KeyObject; certs: readonly Buffer[]; friendlyName: string },
  options: Pkcs12Options,
): Buffer {
  const { passphrase, encryption = "modern", includeChain = true, iterations = 2048 } = options;
  const legacy = encryption === "legacy";
  const [leaf, ...rest] = input.certs;
  if (!leaf) throw new TypeError("a PKCS#12 bundle needs at least the leaf certificate");
  const localKeyId = createHash("sha1").update(leaf).digest("binary");
  const leafAttributes = set([
    seq([oid(OID.friendlyName), set([bmpString(input.friendlyName)])]),
    seq([oid(OID.localKeyId), set([octets(localKeyId)])]),
  ]);

  const certBags = [leaf, ...(includeChain ? rest : [])].map((cert, index) => {
    const bag = seq([oid(OID.x509Certificate), explicit0(octets(binary(cert)))]);
    const parts = [oid(OID.certBag), explicit0(bag)];
    if (index === 0) parts.push(leafAttributes);
    return seq(parts);
  });

  let shroudedKey: Asn1;
  if (legacy) {
    const keyInfo = asn1.fromDer(binary(input.key.export({ type: "pkcs8", format: "der" })));
    shroudedKey = forge.pki.encryptPrivateKeyInfo(keyInfo, passphrase, {
      algorithm: "3des",
      count: iterations,
    });
  } else {
    const encrypted = input.key.export({ type: "pkcs8", format: "der", cipher: "aes-256-cbc", passphrase });
    shroudedKey = asn1.fromDer(binary(encrypted));
  }
  const keyBag = seq([oid(OID.pkcs8ShroudedKeyBag), explicit0(shroudedKey), leafAttributes]);

  const certSafeContents = der(seq(certBags));
  const authenticatedSafe = der(
    seq([
      legacy
        ? rc2EncryptedContentInfo(certSafeContents, passphrase, iterations)
        : dataContentInfo(certSafeContents),
      dataContentInfo(der(seq([keyBag]))),
    ]),
  );

  const macSalt = randomBytes(8).toString("binary");
  const macIterations = iterations;
  const md = legacy ? forge.md.sha1.create() : forge.md.sha256.create();
  const macKey = forge.pkcs12.generateKey(
    passphrase,
    forge.util.createBuffer(macSalt),
    3,
    macIterations,
    md.digestLength,
    md,
  );
  const hmac = forge.hmac.create();
  hmac.start(legacy ? "sha1" : "sha256", macKey.getBytes());
  hmac.update(authenticatedSafe);
  const digestAlgorithm = seq([
    oid(legacy ? OID.sha1 : OID.sha256),
    asn1.create(Class.UNIVERSAL, Type.NULL, false, ""),
  ]);
  const macData = seq([
    seq([digestAlgorithm, octets(hmac.digest().getBytes())]),
    octets(macSalt),
    integer(macIterations),
  ]);

  const pfx = seq([integer(3), dataContentInfo(authenticatedSafe), macData]);
  return Buffer.from(der(pfx), "binary");
}
