import type { TlsVersion } from "@proj/security-config";

/** How a device stores the certificates it is given. */
export type CertEncoding = "PEM" | "DER" | "PKCS12" | "store";

/** A key algorithm a device's TLS stack can use for its own certificate. */
export type KeySupport =
  | { readonly type: "rsa"; readonly minBits: number; readonly maxBits?: number }
  /** Curves by their OpenSSL names: `prime256v1`, `secp384r1`, `secp521r1`, `brainpoolP256r1`... */
  | { readonly type: "ec"; readonly curves: readonly string[] }
  | { readonly type: "ed25519" };

/** Where a profile fact comes from. */
export interface FactSource {
  /** `documented`: the vendor's public text says so. `assumed`: a conservative default nobody has confirmed. */
  readonly kind: "documented" | "assumed";
  /** The document, e.g. "Beckhoff Infosys: TF6701, ST_IotMqttTls". */
  readonly title: string;
  readonly url?: string;
  /** What the source says, or why the assumption was made. */
  readonly note?: string;
}

/** What a device's MQTT client supports (see the adapter-kit README). */
export interface DeviceProfile {
  /** MQTT protocol levels: 3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5. */
  readonly mqttVersions: readonly (3 | 4 | 5)[];
  readonly tlsVersions: readonly TlsVersion[];
  readonly certEncodings: readonly CertEncoding[];
  readonly keyTypes: readonly KeySupport[];
  /** Largest certificate (DER bytes) the device loads. */
  readonly maxCertBytes?: number;
  /** Most certificates in the client chain (leaf plus intermediates) the device sends. */
  readonly maxChainDepth?: number;
  readonly supportsClientCert: boolean;
  readonly supportsCrl: boolean;
  readonly supportsSni: boolean;
  readonly supportsAlpn: boolean;
  /** TLS 1.2 cipher suites (OpenSSL names) the device offers; absent when unknown. */
  readonly cipherSuites?: readonly string[];
  /** The source of every fact above, by fact name (`defineAdapter` refuses a stated fact without one). */
  readonly sources: Readonly<Partial<Record<ProfileFact, FactSource>>>;
}

/** The facts a profile states; each needs a source. */
export type ProfileFact = Exclude<keyof DeviceProfile, "sources">;

/** Every fact name, in the order documentation lists them. */
export const PROFILE_FACTS = [
  "mqttVersions",
  "tlsVersions",
  "certEncodings",
  "keyTypes",
  "maxCertBytes",
  "maxChainDepth",
  "supportsClientCert",
  "supportsCrl",
  "supportsSni",
  "supportsAlpn",
  "cipherSuites",
] as const satisfies readonly ProfileFact[];

const CURVE_NAMES: Readonly<Record<string, string>> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};

/**
 * A key support entry in words, e.g. "RSA 2048-4096 bits" or "EC P-256, P-384".
 *
 * @example
 * ```ts
 * describeKeySupport({ type: "rsa", minBits: 2048 }); // "RSA ≥ 2048 bits"
 * ```
 */
export function describeKeySupport(key: KeySupport): string {
  switch (key.type) {
    case "rsa":
      return key.maxBits === undefined
        ? `RSA ≥ ${key.minBits} bits`
        : `RSA ${key.minBits}-${key.maxBits} bits`;
    case "ec":
      return `EC ${key.curves.map((c) => CURVE_NAMES[c] ?? c).join(", ")}`;
    case "ed25519":
      return "Ed25519";
  }
}

/** A curve's usual short name (P-256 for prime256v1), or the name itself. */
export function curveName(curve: string): string {
  return CURVE_NAMES[curve] ?? curve;
}
