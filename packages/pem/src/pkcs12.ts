import forge from "node-forge";
import { createPrivateKey } from "node:crypto";
import { ParsedCertificate } from "./certificate.js";
import { classifyDer, derChildren, derOid, readDer, type DerNode } from "./der.js";
import { PemError } from "./errors.js";

/** The contents of a PKCS#12 bundle as PEM, from {@link readPkcs12}. */
export interface Pkcs12Contents {
  /** Certificates as PEM, leaf (the one matching the key) first, then its issuers. */
  readonly certificates: string[];
  /** The certificates joined: what a TLS `cert` option takes. */
  readonly chain: string;
  /** The private key as unencrypted PKCS#8 PEM, if the bundle holds one. Keep it in memory only. */
  readonly key: string | undefined;
  /** The bundle uses RC2/3DES/SHA-1 encryption that OpenSSL 3 (and Node) refuse without the legacy provider. */
  readonly legacyEncryption: boolean;
}

const LEGACY_PBE = new Set([
  "1.2.840.113549.1.12.1.1", // pbeWithSHAAnd128BitRC4
  "1.2.840.113549.1.12.1.2", // pbeWithSHAAnd40BitRC4
  "1.2.840.113549.1.12.1.3", // pbeWithSHAAnd3-KeyTripleDES-CBC
  "1.2.840.113549.1.12.1.5", // pbeWithSHAAnd128BitRC2-CBC
  "1.2.840.113549.1.12.1.6", // pbeWithSHAAnd40BitRC2-CBC
]);

/** Whether any encryption in the bundle is a legacy PKCS#12 PBE; PFX nests its DER inside OCTET STRINGs. */
function usesLegacyEncryption(bytes: Uint8Array, node: DerNode, depth = 0): boolean {
  if (depth > 12) return false;
  if (node.tag === 0x06) {
    const oid = derOid(bytes, node);
    return oid !== undefined && LEGACY_PBE.has(oid);
  }
  if (node.tag === 0x04 && node.end - node.contentStart > 2) {
    const inner = bytes.subarray(node.contentStart, node.end);
    const nested = readDer(inner);
    return nested !== undefined && usesLegacyEncryption(inner, nested, depth + 1);
  }
  if ((node.tag & 0x20) === 0) return false;
  return (derChildren(bytes, node) ?? []).some((child) => usesLegacyEncryption(bytes, child, depth + 1));
}

function toDer(node: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(node).getBytes(), "binary");
}

/** Leaf first (the certificate the key belongs to, else one that issued none of the others), then upward. */
function order(certs: ParsedCertificate[], keyDer: Buffer | undefined): ParsedCertificate[] {
  let keyObject: ReturnType<typeof createPrivateKey> | undefined;
  try {
    keyObject = keyDer ? createPrivateKey({ key: keyDer, format: "der", type: "pkcs8" }) : undefined;
  } catch {
    keyObject = undefined; // reported when the key itself is exported below
  }
  const issuesAnother = (c: ParsedCertificate) =>
    certs.some((o) => o !== c && o.issuerKey === c.subjectKey && !o.selfIssued);
  const leaf =
    certs.find((c) => keyObject !== undefined && c.node.checkPrivateKey(keyObject)) ??
    certs.find((c) => !issuesAnother(c)) ??
    certs[0];
  if (!leaf) return [];
  const ordered = [leaf];
  const rest = certs.filter((c) => c !== leaf);
  for (let current = leaf; !current.selfIssued;) {
    const issuer = rest.find((c) => c.subjectKey === current.issuerKey);
    if (!issuer) break;
    ordered.push(issuer);
    rest.splice(rest.indexOf(issuer), 1);
    current = issuer;
  }
  return [...ordered, ...rest];
}

/**
 * Reads a PKCS#12 (.p12/.pfx) bundle into PEM: the certificate chain and the key. It reads the modern (AES,
 * SHA-256 MAC) files and the legacy RC2/3DES ones that Node's OpenSSL 3 refuses, for every key type.
 *
 * @example
 * ```ts
 * const { chain, key, legacyEncryption } = readPkcs12(await readFile("plc.p12"), process.env.P12_PASSPHRASE ?? "");
 * ```
 * @throws {PemError} `KEY_PASSPHRASE_WRONG` (the MAC does not verify), `NOT_PEM_PKCS12` for bytes that are not a
 * PKCS#12 bundle, `KEY_UNSUPPORTED` for contents that cannot be decrypted.
 */
export function readPkcs12(bytes: Uint8Array, passphrase: string): Pkcs12Contents {
  const root = readDer(bytes);
  if (!root || classifyDer(bytes, root) !== "pkcs12") {
    throw new PemError("NOT_PEM_PKCS12", "the input is not a PKCS#12 (.p12/.pfx) bundle", {
      remedy: "Give the .p12/.pfx file exported with the key, or PEM files for the certificate and the key.",
    });
  }
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    // forge's PKCS#12 decoder (it opens the legacy PBEs Node's OpenSSL 3 refuses) takes forge's own tree.
    const tree = forge.asn1.fromDer(Buffer.from(bytes).toString("binary"));
    p12 = forge.pkcs12.pkcs12FromAsn1(tree, false, passphrase);
  } catch (cause) {
    const message = (cause as Error).message ?? "";
    if (/mac could not be verified|invalid password/i.test(message)) {
      throw new PemError(
        "KEY_PASSPHRASE_WRONG",
        "the passphrase does not open the PKCS#12 bundle (its MAC does not verify)",
        {
          cause,
          remedy: "Check the passphrase the bundle was exported with.",
        },
      );
    }
    throw new PemError("KEY_UNSUPPORTED", "the PKCS#12 bundle cannot be decrypted with this passphrase", {
      cause,
      remedy: "Export it again as PEM, or check the passphrase.",
    });
  }

  const certs: ParsedCertificate[] = [];
  let keyDer: Buffer | undefined;
  for (const safeContents of p12.safeContents) {
    for (const bag of safeContents.safeBags) {
      if (bag.type === forge.pki.oids.certBag) {
        const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
        if (asn1) certs.push(new ParsedCertificate(toDer(asn1)));
      } else if (bag.type === forge.pki.oids.pkcs8ShroudedKeyBag || bag.type === forge.pki.oids.keyBag) {
        const asn1 = bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)) : bag.asn1;
        if (asn1) keyDer ??= toDer(asn1);
      }
    }
  }
  if (keyDer === undefined && certs.length === 0) {
    throw new PemError(
      "KEY_UNSUPPORTED",
      "the PKCS#12 bundle holds neither a certificate nor a key that could be read",
      {
        remedy: "Export it again, or as PEM files.",
      },
    );
  }
  let key: string | undefined;
  if (keyDer) {
    try {
      key = createPrivateKey({ key: keyDer, format: "der", type: "pkcs8" }).export({
        type: "pkcs8",
        format: "pem",
      }) as string;
    } catch (cause) {
      throw new PemError(
        "KEY_UNSUPPORTED",
        "the key in the PKCS#12 bundle is of a kind that cannot be used",
        { cause },
      );
    }
  }
  const certificates = order(certs, keyDer).map((c) => c.pem);
  return {
    certificates,
    chain: certificates.join(""),
    key,
    legacyEncryption: usesLegacyEncryption(bytes, root),
  };
}
