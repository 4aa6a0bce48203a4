import { createPrivateKey, type KeyObject } from "node:crypto";
import { parseCertificate, type CertificateInput } from "./certificate.js";
import { PemError } from "./errors.js";
import { parsePem, type PemBlock } from "./parse-pem.js";

/** How the key was stored. */
export type PrivateKeyEncoding = "pkcs8" | "encrypted-pkcs8" | "pkcs1" | "sec1" | "legacy-encrypted-pem";

/** A private key read by {@link readPrivateKey}. It never holds the passphrase. */
export interface PrivateKeyInfo {
  readonly keyObject: KeyObject;
  readonly type: "rsa" | "rsa-pss" | "ec" | "ed25519" | "ed448" | "dsa" | "unknown";
  readonly bits: number | undefined;
  readonly curve: string | undefined;
  readonly encoding: PrivateKeyEncoding;
  readonly encrypted: boolean;
}

const KEY_BLOCKS = new Set<PemBlock["type"]>([
  "private-key",
  "encrypted-private-key",
  "rsa-private-key",
  "ec-private-key",
]);

function encodingOf(block: PemBlock): PrivateKeyEncoding {
  if (block.type === "encrypted-private-key") return "encrypted-pkcs8";
  if (block.encrypted) return "legacy-encrypted-pem";
  if (block.type === "rsa-private-key") return "pkcs1";
  if (block.type === "ec-private-key") return "sec1";
  return "pkcs8";
}

function describe(keyObject: KeyObject): Pick<PrivateKeyInfo, "type" | "bits" | "curve"> {
  const type = (keyObject.asymmetricKeyType ?? "unknown") as PrivateKeyInfo["type"];
  const details = keyObject.asymmetricKeyDetails ?? {};
  const bits =
    details.modulusLength ??
    (type === "ed25519"
      ? 256
      : type === "ed448"
        ? 456
        : { prime256v1: 256, secp384r1: 384, secp521r1: 521 }[details.namedCurve ?? ""]);
  return { type, bits, curve: details.namedCurve };
}

/**
 * Reads a private key in any PEM shape the field produces: PKCS#8, encrypted PKCS#8 (AES or legacy 3DES), PKCS#1
 * RSA, SEC1 EC, Ed25519/Ed448, and OpenSSL's legacy `Proc-Type: 4,ENCRYPTED` keys. It tells a missing passphrase
 * (`KEY_ENCRYPTED_NO_PASSPHRASE`) from a wrong one (`KEY_PASSPHRASE_WRONG`), which Node reports alike. No error
 * message contains key bytes or the passphrase.
 *
 * @example
 * ```ts
 * const key = readPrivateKey(await readFile("client.key", "utf8"), process.env.KEY_PASSPHRASE);
 * console.log(key.type, key.bits, key.encoding);
 * ```
 * @throws {PemError} `KEY_ENCRYPTED_NO_PASSPHRASE`, `KEY_PASSPHRASE_WRONG`, `KEY_UNSUPPORTED`, `NOT_PEM_DER`,
 * `NOT_PEM_PKCS12`, `NOT_PEM`, `PEM_MALFORMED` or `PEM_UNEXPECTED_BLOCK`.
 */
export function readPrivateKey(input: string | Uint8Array, passphrase?: string): PrivateKeyInfo {
  const { blocks, findings } = parsePem(input);
  const block = blocks.find((b) => KEY_BLOCKS.has(b.type));
  if (!block) {
    const problem = findings.find((f) => f.severity === "error");
    if (problem && problem.code !== "PEM_UNKNOWN_BLOCK" && problem.code !== "NOT_PEM_PKCS7") {
      throw new PemError(
        problem.code as "NOT_PEM",
        problem.message,
        problem.remedy ? { remedy: problem.remedy } : {},
      );
    }
    const found = blocks.map((b) => b.label).join(", ");
    throw new PemError(
      blocks.length > 0 ? "PEM_UNEXPECTED_BLOCK" : "NOT_PEM",
      blocks.length > 0 ? `no private key in the input, only: ${found}` : "no private key in the input",
      { remedy: "Give the file that holds the private key (-----BEGIN ... PRIVATE KEY-----)." },
    );
  }
  const encoding = encodingOf(block);
  if (block.encrypted && (passphrase === undefined || passphrase === "")) {
    throw new PemError(
      "KEY_ENCRYPTED_NO_PASSPHRASE",
      "the private key is encrypted and no passphrase was given",
      {
        remedy:
          'Give the key\'s passphrase (e.g. "passphrase": "env:KEY_PASSPHRASE"), or decrypt the key once with openssl pkey -in KEY -out KEY.plain.pem and protect that file.',
      },
    );
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(
      block.encrypted
        ? { key: block.pem, format: "pem", passphrase: passphrase! }
        : { key: block.pem, format: "pem" },
    );
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? "";
    const message = (cause as Error).message ?? "";
    // Only the EVP layer refusing the cipher means the algorithm is unsupported. A wrong passphrase usually fails
    // as "bad decrypt", but about once in 256 CBC padding happens to fit and OpenSSL's decoder then rejects the
    // garbage as "DECODER routines::unsupported": for an encrypted key, that too is a wrong passphrase.
    const cipherUnsupported =
      code === "ERR_OSSL_EVP_UNSUPPORTED" ||
      /digital envelope routines::unsupported|unsupported cipher|unknown cipher/i.test(message);
    if (block.encrypted && cipherUnsupported) {
      throw new PemError(
        "KEY_UNSUPPORTED",
        "the key is encrypted with an algorithm OpenSSL 3 no longer supports",
        {
          cause,
          remedy:
            "Re-encrypt it: openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out KEY.pkcs8.pem (add -provider legacy -provider default to read the old file).",
        },
      );
    }
    if (block.encrypted) {
      throw new PemError("KEY_PASSPHRASE_WRONG", "the passphrase does not decrypt the private key", {
        cause,
        remedy:
          "Check the passphrase (and that the environment variable holding it is the one set for this key).",
      });
    }
    throw new PemError("KEY_UNSUPPORTED", `the ${block.label} block does not hold a usable key`, {
      cause,
      remedy: "Export the key again from its source as PKCS#8 PEM.",
    });
  }
  return { keyObject, ...describe(keyObject), encoding, encrypted: block.encrypted };
}

/**
 * Whether a private key belongs to a certificate (its public key is the certificate's).
 *
 * @example
 * ```ts
 * if (!keyMatchesCertificate(readPrivateKey(keyPem), certPem)) console.log("KEY_CERT_MISMATCH");
 * ```
 * @throws {PemError} when the certificate or an unencrypted PEM key cannot be read.
 */
export function keyMatchesCertificate(
  key: KeyObject | PrivateKeyInfo | string,
  certificate: CertificateInput,
): boolean {
  const keyObject =
    typeof key === "string" ? readPrivateKey(key).keyObject : "keyObject" in key ? key.keyObject : key;
  try {
    return parseCertificate(certificate).node.checkPrivateKey(keyObject);
  } catch (error) {
    if (error instanceof Error && error.name === "PemError") throw error;
    return false;
  }
}
