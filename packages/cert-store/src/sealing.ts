import { createCipheriv, createDecipheriv, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import type { SealedKey, StoreBackend } from "./backend.js";
import { CertStoreError } from "./errors.js";

/** scrypt cost: 2^15 × 8 × 1 (about 32 MiB and a tenth of a second), as OWASP suggests for scrypt. */
const KDF = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, maxmem: 64 * 1024 * 1024 } as const;
const KDF_META = "kdf";
const CHECK_META = "passphrase-check";
const CHECK_TEXT = Buffer.from("mqtt-tls certificate store");
const CHECK_AAD = "store:passphrase-check";

interface KdfParams {
  readonly salt: string;
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

function derive(passphrase: string, params: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      passphrase.normalize("NFC"),
      Buffer.from(params.salt, "base64"),
      KDF.keyLength,
      { N: params.N, r: params.r, p: params.p, maxmem: KDF.maxmem },
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  );
}

/** Encrypts `plaintext` with AES-256-GCM under `key`, binding `aad` (the item's name) to it. */
export function seal(key: Buffer, plaintext: Buffer, aad: string): SealedKey {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

/** Decrypts a {@link seal}ed value; `undefined` when the key or the additional data do not match. */
export function unseal(key: Buffer, sealed: SealedKey, aad: string): Buffer | undefined {
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, sealed.iv);
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
}

const encodeSealed = (s: SealedKey) =>
  JSON.stringify({
    iv: s.iv.toString("base64"),
    tag: s.tag.toString("base64"),
    data: s.ciphertext.toString("base64"),
  });
const decodeSealed = (text: string): SealedKey => {
  const { iv, tag, data } = JSON.parse(text) as { iv: string; tag: string; data: string };
  return {
    iv: Buffer.from(iv, "base64"),
    tag: Buffer.from(tag, "base64"),
    ciphertext: Buffer.from(data, "base64"),
  };
};

/**
 * The store's key for `passphrase`: the parameters and a check value are written the first time (the first writer
 * wins); later, a passphrase that does not open the check value is `STORE_PASSPHRASE_WRONG` and nothing is written.
 */
export async function storeKey(backend: StoreBackend, passphrase: string): Promise<Buffer> {
  const proposed: KdfParams = { salt: randomBytes(16).toString("base64"), N: KDF.N, r: KDF.r, p: KDF.p };
  const existing = await backend.getMeta(KDF_META);
  const params = JSON.parse(
    existing ?? (await backend.initMeta(KDF_META, JSON.stringify(proposed))),
  ) as KdfParams;
  const key = await derive(passphrase, params);
  const check = await backend.getMeta(CHECK_META);
  const sealedCheck =
    check ?? (await backend.initMeta(CHECK_META, encodeSealed(seal(key, CHECK_TEXT, CHECK_AAD))));
  const opened = unseal(key, decodeSealed(sealedCheck), CHECK_AAD);
  if (!opened || opened.length !== CHECK_TEXT.length || !timingSafeEqual(opened, CHECK_TEXT)) {
    throw new CertStoreError(
      "STORE_PASSPHRASE_WRONG",
      `the passphrase does not open the store at ${backend.location}`,
      {
        remedy: "Use the passphrase the store was created with (MQTT_TLS_STORE_PASSPHRASE).",
      },
    );
  }
  return key;
}
