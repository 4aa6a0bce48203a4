import { X509Certificate, createHash } from "node:crypto";
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from "node:tls";
import { CodedError } from "@proj/findings";
import type { ResolvedConfig } from "./resolve.js";

/** The error `checkServerIdentity` returns when no pinned key matches; `code` is the finding code. */
export class PinMismatchError extends CodedError<"PINNED_CERT_MISMATCH"> {
  override readonly name = "PinMismatchError";
  constructor(
    readonly host: string,
    readonly presented: readonly string[],
  ) {
    super(
      "PINNED_CERT_MISMATCH",
      `the broker at ${host} presented keys ${presented.join(", ")}, none of which is pinned`,
      { remedy: "Check that this is the broker you meant; if its key was renewed, pin the new key." },
    );
  }
}

/**
 * The SPKI pin of a presented certificate. Node's `pubkey` field is the raw point for EC keys, not the
 * SubjectPublicKeyInfo, so the SPKI is taken from the certificate itself.
 */
function pinOf(certificate: PeerCertificate): string | undefined {
  if (!certificate.raw) return undefined;
  try {
    const spki = new X509Certificate(certificate.raw).publicKey.export({ type: "spki", format: "der" });
    return `sha256/${createHash("sha256").update(spki).digest("base64")}`;
  } catch {
    return undefined;
  }
}

/**
 * The one place a configuration becomes Node `tls.ConnectionOptions`: trust store as `ca`, the key store's chain
 * and key (with its passphrase), `servername` (also for an IP host when `serverName` is set), TLS versions,
 * ciphers, ALPN, CRLs, `rejectUnauthorized: true` whenever the broker is checked, and a `checkServerIdentity`
 * that checks `serverName` and the pinned keys (anywhere in the presented chain). There is no switch that turns
 * every check off at once: only `checkServerCertificate: false` does, and validation always reports it.
 * Returns `undefined` when TLS is disabled.
 *
 * @example
 * ```ts
 * const { resolved } = await loadConfig("plc.json");
 * const socket = tls.connect({ host: "10.0.0.5", port: 8883, ...toTlsOptions(resolved!) });
 * ```
 */
export function toTlsOptions(
  resolved: ResolvedConfig,
  url = resolved.urls[0],
): ConnectionOptions | undefined {
  const { security } = resolved.config;
  if (!security.enableTls) return undefined;
  const options: ConnectionOptions = {
    rejectUnauthorized: security.checkServerCertificate,
    minVersion: security.minTlsVersion,
    maxVersion: security.maxTlsVersion,
  };
  if (security.checkServerCertificate && resolved.trustStore) options.ca = [...resolved.trustStore.pems];
  if (security.checkServerCertificate && resolved.crls.length > 0)
    options.crl = resolved.crls.map((c) => c.info.pem);
  if (security.sendClientCertificate && resolved.keyStore) {
    if (resolved.keyStore.chain.length > 0) options.cert = resolved.keyStore.chain.join("");
    if (resolved.keyStore.keyPem) options.key = resolved.keyStore.keyPem;
    if (resolved.keyStore.passphrase !== undefined) options.passphrase = resolved.keyStore.passphrase;
  }
  if (security.ciphers) options.ciphers = security.ciphers;
  if (security.alpn) options.ALPNProtocols = [...security.alpn];

  const expected = security.serverName ?? url?.host;
  if (security.serverName !== undefined || (url && !url.isIp)) options.servername = expected;
  const pins = new Set(security.pinnedCertificates);
  options.checkServerIdentity = (host, certificate) => {
    const identityError = checkServerIdentity(expected ?? host, certificate);
    if (identityError) return identityError;
    if (pins.size === 0) return undefined;
    const presented: string[] = [];
    for (let cert: PeerCertificate | undefined = certificate, depth = 0; cert && depth < 10; depth++) {
      const pin = pinOf(cert);
      if (pin) {
        if (pins.has(pin)) return undefined;
        presented.push(pin);
      }
      const issuer: PeerCertificate | undefined = (
        cert as PeerCertificate & { issuerCertificate?: PeerCertificate }
      ).issuerCertificate;
      cert = issuer && issuer !== cert ? issuer : undefined;
    }
    return new PinMismatchError(expected ?? host, presented);
  };
  return options;
}
