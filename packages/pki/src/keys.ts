import { generateKeyPair as generateNodeKeyPair, webcrypto, type KeyObject } from "node:crypto";
import { promisify } from "node:util";

type Algorithm = webcrypto.Algorithm;
const generate = promisify(generateNodeKeyPair);

/** Key algorithms certificates can be issued for. */
export type KeyType =
  "rsa1024" | "rsa2048" | "rsa3072" | "rsa4096" | "ec-p256" | "ec-p384" | "ec-p521" | "ed25519";

/**
 * Every {@link KeyType}, in a stable order (handy for `it.each`).
 *
 * @example
 * ```ts
 * for (const keyType of KEY_TYPES) console.log(keyType);
 * ```
 */
export const KEY_TYPES: readonly KeyType[] = [
  "rsa1024",
  "rsa2048",
  "rsa3072",
  "rsa4096",
  "ec-p256",
  "ec-p384",
  "ec-p521",
  "ed25519",
];

/** Signature hashes a certificate can be signed with. */
export type SignatureHash = "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512";

/** A private key, its public half, and the {@link KeyType} they are. */
export interface KeyPair {
  readonly type: KeyType;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

const CURVES = { "ec-p256": "prime256v1", "ec-p384": "secp384r1", "ec-p521": "secp521r1" } as const;
const WEB_CURVES = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" } as const;

/**
 * A fresh key pair of `type` (RSA generation costs 0.1–2 s; see {@link cachedKeyPair} for tests).
 *
 * @example
 * ```ts
 * const { privateKey } = await generateKeyPair("ec-p256");
 * ```
 */
export async function generateKeyPair(type: KeyType): Promise<KeyPair> {
  if (type.startsWith("rsa")) {
    const { privateKey, publicKey } = await generate("rsa", { modulusLength: Number(type.slice(3)) });
    return { type, privateKey, publicKey };
  }
  if (type === "ed25519") {
    const { privateKey, publicKey } = await generate("ed25519");
    return { type, privateKey, publicKey };
  }
  const { privateKey, publicKey } = await generate("ec", {
    namedCurve: CURVES[type as keyof typeof CURVES],
  });
  return { type, privateKey, publicKey };
}

const cache = new Map<string, Promise<KeyPair>>();

/**
 * The key pair for `slot`, generated once per process. RSA generation costs 0.1–2 s a key, so a test file that
 * issues many certificates pays for each slot once. Different slots always get different keys.
 *
 * @example
 * ```ts
 * const a = await cachedKeyPair("rsa2048", "server:plc1");
 * const b = await cachedKeyPair("rsa2048", "server:plc1"); // the same pair, no second generation
 * ```
 */
export function cachedKeyPair(type: KeyType, slot: string): Promise<KeyPair> {
  const id = `${type}\u0000${slot}`;
  let pair = cache.get(id);
  if (!pair) {
    pair = generateKeyPair(type);
    cache.set(id, pair);
    // A failed generation must not poison the cache for later callers.
    pair.catch(() => cache.delete(id));
  }
  return pair;
}

/**
 * The {@link KeyType} of a Node key (private or public), or `undefined` for one this package cannot sign with
 * (DSA, X25519, RSA-PSS, an RSA size or curve outside the list).
 *
 * @example
 * ```ts
 * keyTypeOf(createPublicKey(pem)); // "ec-p256"
 * ```
 */
export function keyTypeOf(key: KeyObject): KeyType | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "ed25519") return "ed25519";
  if (key.asymmetricKeyType === "rsa") {
    const type = `rsa${details.modulusLength ?? 0}`;
    return (KEY_TYPES as readonly string[]).includes(type) ? (type as KeyType) : undefined;
  }
  if (key.asymmetricKeyType === "ec") {
    const entry = Object.entries(CURVES).find(([, curve]) => curve === details.namedCurve);
    return entry?.[0] as KeyType | undefined;
  }
  return undefined;
}

type SignAlgorithm = webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | Algorithm;

function importAlgorithm(type: KeyType, hash: SignatureHash): SignAlgorithm {
  if (type.startsWith("rsa")) return { name: "RSASSA-PKCS1-v1_5", hash };
  if (type === "ed25519") return { name: "Ed25519" };
  return { name: "ECDSA", namedCurve: WEB_CURVES[CURVES[type as keyof typeof CURVES]] };
}

/** The WebCrypto signing algorithm a key of `type` uses with `hash` (Ed25519 has its hash built in). */
export function signingAlgorithm(type: KeyType, hash: SignatureHash): Algorithm & { hash?: string } {
  if (type.startsWith("rsa")) return { name: "RSASSA-PKCS1-v1_5", hash };
  if (type.startsWith("ec")) return { name: "ECDSA", hash };
  return { name: "Ed25519" };
}

/** The default signature hash for an issuer key: SHA-384 for P-384, SHA-512 for P-521, else SHA-256. */
export function defaultHash(type: KeyType): SignatureHash {
  if (type === "ec-p384") return "SHA-384";
  if (type === "ec-p521") return "SHA-512";
  return "SHA-256";
}

/** Imports a Node private key into WebCrypto for signing, bound to `hash` for RSA (WebCrypto ties it to the key). */
export function toCryptoPrivateKey(pair: KeyPair, hash: SignatureHash): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey(
    "pkcs8",
    pair.privateKey.export({ type: "pkcs8", format: "der" }),
    importAlgorithm(pair.type, hash),
    true,
    ["sign"],
  );
}

/** Imports a Node public key of `type` into WebCrypto (what @peculiar/x509 puts into a certificate). */
export function toCryptoPublicKey(publicKey: KeyObject, type: KeyType): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey(
    "spki",
    publicKey.export({ type: "spki", format: "der" }),
    importAlgorithm(type, defaultHash(type)),
    true,
    ["verify"],
  );
}
