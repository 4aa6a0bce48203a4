import { defineAdapter, type FactSource } from "@proj/adapter-kit";

const OVERVIEW: FactSource = {
  kind: "documented",
  title: "ABB AC500 V3 MQTT overview (cloud connectivity): controllers as MQTT clients, TLS encryption",
  url: "https://dcs-sis.com/abb-ac500-mqtt-is-a-tcp-ip-messaging-protocol",
  note: "AC500 V3 uses TLS encryption to establish secure communication with the broker.",
};
const assumed = (note: string): FactSource => ({
  kind: "assumed",
  title: "Conservative default: not stated in the ABB material cited",
  note,
});

/** Where each fact of the AC500 V3 profile comes from. */
export const ABB_AC500_SOURCES = {
  mqttVersions: assumed("MQTT 3.1.1."),
  tlsVersions: assumed(
    "TLS 1.2 only: the source says TLS without a version; 1.2 is the version every broker accepts.",
  ),
  certEncodings: assumed("PEM files."),
  keyTypes: assumed("RSA 2048-4096."),
  supportsClientCert: OVERVIEW,
  supportsCrl: assumed("No CRL setting is mentioned."),
  supportsSni: assumed("No server-name setting is mentioned."),
  supportsAlpn: assumed("No ALPN setting is mentioned."),
} as const satisfies Record<string, FactSource>;

/**
 * ABB AC500 V3 PLCs as MQTT clients over TLS. Most facts are conservative assumptions (each marked in
 * `profile.sources`): confirm them on a device and tell us. A profile-only adapter.
 *
 * @example
 * ```ts
 * import { loadForDevice } from "@proj/adapter-kit";
 * import { abbAc500 } from "@proj/adapter-abb";
 * const { findings } = await loadForDevice(config, abbAc500);
 * ```
 */
export const abbAc500 = defineAdapter({
  id: "abb-ac500",
  name: "ABB AC500 V3",
  vendor: "ABB",
  models: ["AC500 V3 (PM56xx)"],
  description: "AC500 V3 controllers publishing to an MQTT broker over TLS.",
  profile: {
    mqttVersions: [4],
    tlsVersions: ["TLSv1.2"],
    certEncodings: ["PEM"],
    keyTypes: [{ type: "rsa", minBits: 2048, maxBits: 4096 }],
    supportsClientCert: true,
    supportsCrl: false,
    supportsSni: false,
    supportsAlpn: false,
    sources: ABB_AC500_SOURCES,
  },
  simulation: {
    topicTemplate: "ac500/{clientId}/{tag}",
    tags: [{ name: "drive1/speed", kind: "analog", unit: "rpm", min: 0, max: 1500 }],
  },
});
