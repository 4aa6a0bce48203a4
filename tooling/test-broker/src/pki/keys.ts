import { generateKeyPair, webcrypto, type KeyObject } from "node:crypto";

type Algorithm = webcrypto.Algorithm;
import { promisify } from "node:util";

const generate = promisify(generateKeyPair);

/** Key algorithms the test PKI can issue certificates for. */
export type KeyType = "rsa1024" | "rsa2048" | "rsa3072" | "ec-p256" | "ec-p384" | "ed25519";

/** Every {@link KeyType}, in a stable order (handy for `it.each`). */
export const KEY_TYPES: readonly KeyType[] = [
  "rsa1024",
  "rsa2048",
  "rsa3072",
  "ec-p256",
  "ec-p384",
  "ed25519",
];

/** Signature hashes a test certificate can be signed with. */
export type SignatureHash = "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512";

export interface KeyPair {
  readonly type: KeyType;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

const cache = new Map<string, Promise<KeyPair>>();

async function generateFresh(type: KeyType): Promise<KeyPair> {
  switch (type) {
    case "rsa1024":
    case "rsa2048":
    case "rsa3072": {
      const { privateKey, publicKey } = await generate("rsa", { modulusLength: Number(type.slice(3)) });
      return { type, privateKey, publicKey };
    }
    case "ec-p256":
    case "ec-p384": {
      const namedCurve = type === "ec-p256" ? "prime256v1" : "secp384r1";
      const { privateKey, publicKey } = await generate("ec", { namedCurve });
      return { type, privateKey, publicKey };
    }
    case "ed25519": {
      const { privateKey, publicKey } = await generate("ed25519");
      return { type, privateKey, publicKey };
    }
  }
}

/**
 * The key pair for `slot`, generated once per process. RSA generation costs 0.1–0.5 s a key, so a test file that
 * issues many certificates pays for each slot once. Different slots always get different keys.
 */
export function cachedKeyPair(type: KeyType, slot: string): Promise<KeyPair> {
  const id = `${type}\u0000${slot}`;
  let pair = cache.get(id);
  if (!pair) {
    pair = generateFresh(type);
    cache.set(id, pair);
    // A failed generation must not poison the cache for later callers.
    pair.catch(() => cache.delete(id));
  }
  return pair;
}

type SignAlgorithm = webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | Algorithm;

function importAlgorithm(type: KeyType, hash: SignatureHash): SignAlgorithm {
  if (type.startsWith("rsa")) return { name: "RSASSA-PKCS1-v1_5", hash };
  if (type === "ec-p256") return { name: "ECDSA", namedCurve: "P-256" };
  if (type === "ec-p384") return { name: "ECDSA", namedCurve: "P-384" };
  return { name: "Ed25519" };
}

/** The WebCrypto signing algorithm a key of `type` uses with `hash` (Ed25519 has its hash built in). */
export function signingAlgorithm(type: KeyType, hash: SignatureHash): Algorithm & { hash?: string } {
  if (type.startsWith("rsa")) return { name: "RSASSA-PKCS1-v1_5", hash };
  if (type.startsWith("ec")) return { name: "ECDSA", hash };
  return { name: "Ed25519" };
}

/** The default signature hash for an issuer key: SHA-384 for P-384, else SHA-256. */
export function defaultHash(type: KeyType): SignatureHash {
  return type === "ec-p384" ? "SHA-384" : "SHA-256";
}

/** Imports a Node key pair into WebCrypto, bound to `hash` for RSA keys (WebCrypto ties the hash to the key). */
export async function toCryptoKeys(pair: KeyPair, hash: SignatureHash): Promise<webcrypto.CryptoKeyPair> {
  const algorithm = importAlgorithm(pair.type, hash);
  const privateKey = await webcrypto.subtle.importKey(
    "pkcs8",
    pair.privateKey.export({ type: "pkcs8", format: "der" }),
    algorithm,
    true,
    ["sign"],
  );
  const publicKey = await webcrypto.subtle.importKey(
    "spki",
    pair.publicKey.export({ type: "spki", format: "der" }),
    algorithm,
    true,
    ["verify"],
  );
  return { privateKey, publicKey };
}
