import {
  defaultHash,
  generateKeyPair,
  signingAlgorithm,
  toCryptoPrivateKey,
  toCryptoPublicKey,
  type KeyType,
} from "./keys.js";
import { loadX509, toPem } from "./x509.js";

/** A certificate signing request and the new private key it was made with. */
export interface CertificateRequest {
  /** PKCS#10, PEM (`CERTIFICATE REQUEST`): what a CA signs. */
  readonly csr: string;
  /** The new private key, unencrypted PKCS#8 PEM: keep it with the device, mode 0600. */
  readonly keyPem: string;
  readonly keyType: KeyType;
}

/**
 * A new key of `keyType` and a CSR for `subject`, signed with it: the first step of a rotation. The CSR goes to
 * the lab CA (`signLabCsr`) or to the plant's own CA; the key never leaves.
 *
 * @example
 * ```ts
 * const request = await createCsr({ subject: "CN=line1-nx3004", keyType: "rsa2048" });
 * await writeFile("line1-nx3004.csr", request.csr);
 * ```
 */
export async function createCsr(options: { subject: string; keyType: KeyType }): Promise<CertificateRequest> {
  const x509 = await loadX509();
  const pair = await generateKeyPair(options.keyType);
  const hash = defaultHash(pair.type);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: options.subject,
    keys: {
      privateKey: await toCryptoPrivateKey(pair, hash),
      publicKey: await toCryptoPublicKey(pair.publicKey, pair.type),
    },
    signingAlgorithm: signingAlgorithm(pair.type, hash),
  });
  return {
    csr: await toPem(csr.rawData, "CERTIFICATE REQUEST"),
    keyPem: pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    keyType: pair.type,
  };
}
