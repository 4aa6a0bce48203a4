import {
  AdapterError,
  defineAdapter,
  writeDeviceFile,
  type DeviceFile,
  type FactSource,
} from "@proj/adapter-kit";
import type { ResolvedConfig } from "@proj/security-config";

const VENDOR_DOC: FactSource = {
  kind: "documented",
  title:
    "Altus: MQTT client of the Nexto Series and Nexto Xpress, configured in MasterTool IEC XE 3.23 or later (tutorial with Eclipse Mosquitto and OpenSSL-made files)",
  note: "TLS 1.2; a CA certificate to verify the broker; an optional client certificate and key for mutual TLS.",
};

const assumed = (note: string): FactSource => ({
  kind: "assumed",
  title: "Conservative default: not stated in Altus's public documentation",
  note,
});

/** Where each fact of the Nexto profile comes from. */
export const NEXTO_SOURCES = {
  mqttVersions: assumed("MQTT 3.1.1 only: the level every client speaks; MQTT 5 is not mentioned."),
  tlsVersions: VENDOR_DOC,
  certEncodings: assumed("PEM: what the OpenSSL commands of the tutorial write by default."),
  keyTypes: assumed("RSA 2048-4096: the key OpenSSL tutorials make; EC and Ed25519 are not mentioned."),
  maxCertBytes: assumed("4096 bytes: room for an RSA 4096 certificate with a few names."),
  maxChainDepth: assumed("Two certificates (device and one intermediate) in the client chain."),
  supportsClientCert: VENDOR_DOC,
  supportsCrl: assumed("No CRL field is mentioned."),
  supportsSni: assumed("No server-name field is mentioned: connect to the name in the broker's certificate."),
  supportsAlpn: assumed("No ALPN field is mentioned."),
} as const satisfies Record<string, FactSource>;

async function toDeviceFiles(resolved: ResolvedConfig, dir: string): Promise<DeviceFile[]> {
  const files: DeviceFile[] = [];
  const { security } = resolved.config;
  if (security.enableTls && security.checkServerCertificate) {
    if (!resolved.trustStore || resolved.trustStore.pems.length === 0) {
      throw new AdapterError("CONFIG_INVALID", "the configuration has no trust store to give the PLC");
    }
    files.push(
      await writeDeviceFile(dir, "ca.crt", resolved.trustStore.pems.join(""), {
        role: "trust-store",
        encoding: "PEM",
        description: "MasterTool IEC XE, MQTT client, Security: CA certificate (verifies the broker)",
      }),
    );
  }
  if (security.enableTls && security.sendClientCertificate) {
    const keyStore = resolved.keyStore;
    if (!keyStore || keyStore.chain.length === 0 || keyStore.keyPem === undefined) {
      throw new AdapterError(
        "CONFIG_INVALID",
        "the configuration has no readable client certificate and key",
      );
    }
    files.push(
      await writeDeviceFile(dir, "client.crt", keyStore.chain.join(""), {
        role: "certificate",
        encoding: "PEM",
        description: "MasterTool IEC XE, MQTT client, Security: client certificate (mutual TLS)",
      }),
      await writeDeviceFile(dir, "client.key", keyStore.keyPem, {
        role: "private-key",
        encoding: "PEM",
        description: `MasterTool IEC XE, MQTT client, Security: client private key${
          keyStore.key?.encrypted ? " (encrypted: enter its passphrase where MasterTool asks for it)" : ""
        }`,
      }),
    );
  }
  return files;
}

/**
 * Altus Nexto Series (NX3003, NX3004, NX3005) and Nexto Xpress (XP3xx, e.g. XP340) PLCs: an MQTT client with
 * TLS 1.2, a CA certificate to verify the broker and an optional client certificate and key for mutual TLS,
 * configured in MasterTool IEC XE 3.23 or later. Facts the vendor does not state are conservative assumptions,
 * each marked as such in `profile.sources`.
 *
 * @example
 * ```ts
 * import { loadForDevice, simulateDevice } from "@proj/adapter-kit";
 * import { nexto } from "@proj/adapter-nexto";
 * const { findings } = await loadForDevice(config, nexto, { baseDir: "config" });
 * await using plc = await simulateDevice(nexto, config, { baseDir: "config", rounds: 5 });
 * ```
 */
export const nexto = defineAdapter({
  id: "altus-nexto",
  name: "Altus Nexto",
  vendor: "Altus",
  models: ["NX3003", "NX3004", "NX3005", "Nexto Xpress XP3xx (e.g. XP340)"],
  description:
    "Nexto Series and Nexto Xpress PLCs: MQTT client over TLS 1.2 with optional mutual TLS, set up in MasterTool IEC XE 3.23+.",
  profile: {
    mqttVersions: [4],
    tlsVersions: ["TLSv1.2"],
    certEncodings: ["PEM"],
    keyTypes: [{ type: "rsa", minBits: 2048, maxBits: 4096 }],
    maxCertBytes: 4096,
    maxChainDepth: 2,
    supportsClientCert: true,
    supportsCrl: false,
    supportsSni: false,
    supportsAlpn: false,
    sources: NEXTO_SOURCES,
  },
  toDeviceFiles,
  simulation: {
    topicTemplate: "nexto/{clientId}/{tag}",
    qos: 1,
    tags: [
      { name: "line1/tank-level", kind: "analog", unit: "%", min: 0, max: 100 },
      { name: "line1/flow", kind: "analog", unit: "m3/h", min: 0, max: 250 },
      { name: "line1/pump1/running", kind: "boolean" },
      { name: "line1/production-count", kind: "counter" },
    ],
  },
});
