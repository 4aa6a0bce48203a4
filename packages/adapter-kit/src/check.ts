import { createFinding, type Finding } from "@proj/findings";
import { inspectCertificate } from "@proj/pem";
import { X509Certificate } from "node:crypto";
import {
  defineRule,
  type RawFinding,
  type ResolvedConfig,
  type Rule,
  type TlsVersion,
} from "@proj/security-config";
import {
  curveName,
  describeKeySupport,
  type DeviceProfile,
  type FactSource,
  type ProfileFact,
} from "./profile.js";

const TLS_ORDER: readonly TlsVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
const MQTT_NAMES: Readonly<Record<number, string>> = { 3: "MQTT 3.1", 4: "MQTT 3.1.1", 5: "MQTT 5" };

/**
 * When a device meets the problem: `load` when its engineering tool or runtime imports the files (it refuses them
 * before any connection), `connect` when it negotiates with the broker (it tries, and the broker decides).
 */
type DeviceStage = "load" | "connect";

/** A device finding before it gets a severity, with the stage it shows up at. */
export interface DeviceFinding {
  readonly finding: RawFinding & { severity: Finding["severity"] };
  readonly stage: DeviceStage;
  readonly fact: ProfileFact;
}

function severityOf(source: FactSource | undefined): Finding["severity"] {
  return source?.kind === "documented" ? "error" : "warning";
}

function basedOn(source: FactSource | undefined): string {
  if (!source) return "";
  return source.kind === "documented"
    ? ` (documented: ${source.title})`
    : ` (assumed, not confirmed by the vendor: check on the device; ${source.title})`;
}

/** The TLS versions from `min` to `max`. */
export function tlsRange(min: TlsVersion, max: TlsVersion): TlsVersion[] {
  return TLS_ORDER.slice(TLS_ORDER.indexOf(min), TLS_ORDER.indexOf(max) + 1);
}

/** Sorts TLS versions oldest first. */
export function sortTls(versions: readonly TlsVersion[]): TlsVersion[] {
  return [...versions].sort((a, b) => TLS_ORDER.indexOf(a) - TLS_ORDER.indexOf(b));
}

function cipherNames(list: string): string[] {
  return list
    .split(/[:, ]+/)
    .filter((name) => name && !/^[!+-]/.test(name) && name === name.toUpperCase())
    .map((name) => name.trim());
}

/** Every way `resolved` asks more of the device than its profile says it can do. */
export function deviceFindings(
  resolved: ResolvedConfig,
  profile: DeviceProfile,
  deviceName: string,
): DeviceFinding[] {
  const out: DeviceFinding[] = [];
  const { broker, security } = resolved.config;
  const add = (
    fact: ProfileFact,
    stage: DeviceStage,
    finding: Omit<RawFinding, "code">,
    severity?: Finding["severity"],
  ) => {
    const source = profile.sources[fact];
    out.push({
      fact,
      stage,
      finding: {
        code: "DEVICE_UNSUPPORTED",
        ...finding,
        message: `${finding.message.replace(/\.$/, "")}${basedOn(source)}.`,
        severity: severity ?? severityOf(source),
      },
    });
  };

  if (!profile.mqttVersions.includes(broker.protocolVersion)) {
    const best = Math.max(...profile.mqttVersions) as 3 | 4 | 5;
    add("mqttVersions", "connect", {
      path: "broker.protocolVersion",
      message: `${deviceName} speaks ${profile.mqttVersions.map((v) => MQTT_NAMES[v]).join(" and ")}; the configuration asks for ${MQTT_NAMES[broker.protocolVersion]}.`,
      remedy: `Set "protocolVersion": ${best} and make sure the broker accepts ${MQTT_NAMES[best]}.`,
    });
  }
  if (!security.enableTls) return out;

  const wanted = tlsRange(security.minTlsVersion, security.maxTlsVersion);
  const common = wanted.filter((v) => profile.tlsVersions.includes(v));
  if (common.length === 0) {
    const device = sortTls(profile.tlsVersions);
    add("tlsVersions", "connect", {
      path: "security.minTlsVersion",
      message: `${deviceName} speaks ${device.join(", ")} only; the configuration allows ${security.minTlsVersion === security.maxTlsVersion ? security.minTlsVersion : `${security.minTlsVersion} to ${security.maxTlsVersion}`}, so the handshake will fail with TLS_VERSION_MISMATCH.`,
      remedy: `Let the broker accept ${device.at(-1)!} (Mosquitto: "tls_version ${device.at(-1)!.toLowerCase()}" is a minimum) and set "minTlsVersion": "${device.at(-1)!}".`,
    });
  }

  if (
    security.ciphers !== null &&
    profile.cipherSuites !== undefined &&
    common.length > 0 &&
    !common.includes("TLSv1.3")
  ) {
    const asked = cipherNames(security.ciphers);
    if (asked.length > 0 && !asked.some((name) => profile.cipherSuites!.includes(name))) {
      add("cipherSuites", "connect", {
        path: "security.ciphers",
        message: `None of the configured cipher suites is one ${deviceName} offers (${profile.cipherSuites.join(", ")}).`,
        remedy: `Allow one of ${profile.cipherSuites.slice(0, 3).join(", ")} on the broker and in "ciphers".`,
      });
    }
  }

  if (security.alpn !== null && security.alpn.length > 0 && !profile.supportsAlpn) {
    add("supportsAlpn", "connect", {
      path: "security.alpn",
      message: `${deviceName} sends no ALPN; the configuration asks for ${security.alpn.join(", ")}.`,
      remedy: "Use a broker port that needs no ALPN (e.g. 8883 instead of 443 with ALPN routing).",
    });
  }

  const firstUrl = resolved.urls[0];
  if (
    !profile.supportsSni &&
    security.serverName !== undefined &&
    firstUrl !== undefined &&
    security.serverName !== firstUrl.host
  ) {
    add("supportsSni", "connect", {
      path: "security.serverName",
      message: `${deviceName} sends no SNI, so it cannot ask for ${security.serverName} while connecting to ${firstUrl.host}.`,
      remedy:
        "Connect the device to the name its broker certificate carries, on a port that needs no SNI routing.",
    });
  }

  if (security.crl.length > 0 && security.checkServerCertificate && !profile.supportsCrl) {
    add(
      "supportsCrl",
      "load",
      {
        path: "security.crl",
        message: `${deviceName} does not check CRLs: a revoked broker certificate will still be accepted by the device.`,
        remedy:
          "Revoke by removing the broker's certificate from service, or keep revocation checks on a gateway.",
      },
      "warning",
    );
  }

  if (security.sendClientCertificate && !profile.supportsClientCert) {
    add("supportsClientCert", "load", {
      path: "security.sendClientCertificate",
      message: `${deviceName} cannot send a client certificate; the configuration asks for mutual TLS.`,
      remedy:
        "Authenticate the device with a username and password (env:NAME) over TLS, or put a gateway in front.",
    });
  }

  const keyStore = resolved.keyStore;
  if (keyStore && security.sendClientCertificate) {
    const keyPath =
      security.keyStore?.pkcs12 !== undefined ? "security.keyStore.pkcs12" : "security.keyStore.privateKey";
    const key = keyStore.key;
    if (key) {
      const fits = profile.keyTypes.some((support) => {
        if (support.type === "rsa")
          return (
            key.type === "rsa" &&
            key.bits !== undefined &&
            key.bits >= support.minBits &&
            (support.maxBits === undefined || key.bits <= support.maxBits)
          );
        if (support.type === "ec")
          return key.type === "ec" && key.curve !== undefined && support.curves.includes(key.curve);
        return key.type === "ed25519";
      });
      if (!fits) {
        const has =
          key.type === "rsa"
            ? `RSA ${key.bits ?? "?"} bits`
            : key.type === "ec"
              ? `EC ${curveName(key.curve ?? "?")}`
              : key.type === "ed25519"
                ? "Ed25519"
                : key.type;
        add("keyTypes", "load", {
          path: keyPath,
          message: `The client key is ${has}; ${deviceName} takes ${profile.keyTypes.map(describeKeySupport).join(" or ")}.`,
          remedy: `Issue the device a new key and certificate, e.g. \`openssl req -newkey rsa:2048 -nodes -keyout device.key -out device.csr\`${
            profile.keyTypes.some((k) => k.type === "ec")
              ? " or `-newkey ec -pkeyopt ec_paramgen_curve:P-256`"
              : ""
          }, and have the CA sign it.`,
        });
      }
    }
    const accepts = (encoding: string) =>
      profile.certEncodings.includes("store") || profile.certEncodings.some((e) => e === encoding);
    if (security.keyStore?.pkcs12 !== undefined && !accepts("PKCS12")) {
      add("certEncodings", "load", {
        path: "security.keyStore.pkcs12",
        message: `${deviceName} takes ${profile.certEncodings.join(" or ")} files, not a PKCS#12 bundle.`,
        remedy:
          "Split the bundle: `openssl pkcs12 -in client.p12 -clcerts -nokeys -out client.crt` and `openssl pkcs12 -in client.p12 -nocerts -out client.key`.",
      });
    }
    if (profile.maxChainDepth !== undefined && keyStore.chain.length > profile.maxChainDepth) {
      add("maxChainDepth", "load", {
        path: "security.keyStore.certificate",
        message: `The client chain has ${keyStore.chain.length} certificates; ${deviceName} loads at most ${profile.maxChainDepth}.`,
        remedy:
          "Issue the device certificate from a CA closer to the root, or let the broker hold the intermediates.",
      });
    }
  }

  if (profile.maxCertBytes !== undefined) {
    const certs: { pem: string; path: string }[] = [
      ...(keyStore && security.sendClientCertificate
        ? keyStore.chain.map((pem) => ({ pem, path: "security.keyStore.certificate" }))
        : []),
      ...(resolved.trustStore && security.checkServerCertificate
        ? resolved.trustStore.pems.map((pem) => ({ pem, path: "security.trustStore" }))
        : []),
    ];
    for (const { pem, path } of certs) {
      let info;
      try {
        info = inspectCertificate(pem);
      } catch {
        continue; // an unreadable certificate is reported by the file checks
      }
      const bytes = new X509Certificate(pem).raw.length;
      if (bytes > profile.maxCertBytes) {
        add("maxCertBytes", "load", {
          path,
          message: `${info.subject.oneLine} is ${bytes} bytes; ${deviceName} loads certificates up to ${profile.maxCertBytes} bytes.`,
          remedy: "Reissue it with fewer extensions and names, or an EC key (far smaller than RSA).",
        });
      }
    }
  }
  return out;
}

/**
 * Checks a resolved configuration against what a device's MQTT client supports and returns one
 * `DEVICE_UNSUPPORTED` finding per gap: MQTT version, TLS versions, cipher suites, ALPN, SNI, CRL checking, client
 * certificates, key type and size, certificate encoding, chain depth and certificate size. A gap in a documented
 * fact is an error; in an assumed fact, a warning that says to check on the device.
 *
 * @example
 * ```ts
 * const { resolved } = await loadConfig(config, { baseDir: "config" });
 * for (const f of checkAgainstProfile(resolved!, nexto.profile, { deviceName: nexto.name })) console.log(f.message);
 * ```
 */
export function checkAgainstProfile(
  resolved: ResolvedConfig,
  profile: DeviceProfile,
  options: { deviceName?: string } = {},
): Finding[] {
  return deviceFindings(resolved, profile, options.deviceName ?? "The device").map(({ finding }) =>
    createFinding(finding.code, finding.severity, finding.message, {
      path: finding.path,
      remedy: finding.remedy,
    }),
  );
}

/**
 * The profile check as a rule for `loadConfig(config, { rules })`, so device gaps come with every other finding.
 *
 * @example
 * ```ts
 * const { findings } = await loadConfig(config, { rules: [profileRule(nexto.profile, nexto.name)] });
 * ```
 */
export function profileRule(profile: DeviceProfile, deviceName: string, ruleName = "deviceProfile"): Rule {
  return defineRule({
    name: ruleName,
    codes: ["DEVICE_UNSUPPORTED"],
    check: ({ resolved }) => deviceFindings(resolved, profile, deviceName).map(({ finding }) => finding),
  });
}
