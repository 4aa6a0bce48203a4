import { defineAdapter, type FactSource } from "@proj/adapter-kit";

const TLS_STRUCT: FactSource = {
  kind: "documented",
  title: "Beckhoff Infosys: TF6701 IoT Communication, ST_IotMqttTls",
  url: "https://infosys.beckhoff.com/content/1033/tf6701_tc3_iot_communication_mqtt/9007202646818443.html",
  note: "sCA, sCert, sKeyFile as file name (PEM or DER) or string (PEM); sKeyPwd; sCrl (PEM or DER); sCiphers in OpenSSL format; sVersion 'tlsv1', 'tlsv1.1', 'tlsv1.2' (default) or 'tlsv1.3'; PSK.",
};
const MQTT5_STRUCT: FactSource = {
  kind: "documented",
  title: "Beckhoff Infosys: TF6701 IoT Communication, ST_IotMqtt5Tls (the MQTT 5 client)",
  url: "https://infosys.beckhoff.com/content/1033/tf6701_tc3_iot_communication_mqtt/12567830411.html",
  note: "FB_IotMqttClient speaks MQTT 3.1.1, FB_IotMqtt5Client MQTT 5, both with the same TLS settings.",
};
const assumed = (note: string): FactSource => ({
  kind: "assumed",
  title: "Conservative default: not stated in the Beckhoff Infosys pages cited",
  note,
});

/** Where each fact of the TF6701 profile comes from. */
export const BECKHOFF_TF6701_SOURCES = {
  mqttVersions: MQTT5_STRUCT,
  tlsVersions: TLS_STRUCT,
  certEncodings: TLS_STRUCT,
  keyTypes: assumed("RSA 2048 or larger and EC P-256/P-384, which the OpenSSL-based stack loads."),
  supportsClientCert: TLS_STRUCT,
  supportsCrl: TLS_STRUCT,
  supportsSni: assumed("Sends the broker's host name, as OpenSSL clients do."),
  supportsAlpn: assumed("ST_IotMqttTls has no ALPN field."),
} as const satisfies Record<string, FactSource>;

/**
 * Beckhoff TwinCAT 3 TF6701 IoT Communication: FB_IotMqttClient (MQTT 3.1.1) and FB_IotMqtt5Client (MQTT 5) with
 * TLS 1.0 to 1.3 (default 1.2), PEM or DER files, a CRL, an OpenSSL cipher string, or PSK. A profile-only adapter.
 *
 * @example
 * ```ts
 * import { loadForDevice } from "@proj/adapter-kit";
 * import { beckhoffTf6701 } from "@proj/adapter-beckhoff";
 * const { findings } = await loadForDevice(config, beckhoffTf6701);
 * ```
 */
export const beckhoffTf6701 = defineAdapter({
  id: "beckhoff-tf6701",
  name: "Beckhoff TF6701 IoT Communication",
  vendor: "Beckhoff",
  models: ["TwinCAT 3 TF6701 on CX embedded PCs and IPCs (x86, x64, Arm)"],
  description: "TwinCAT 3 MQTT client function blocks (FB_IotMqttClient, FB_IotMqtt5Client).",
  profile: {
    mqttVersions: [4, 5],
    tlsVersions: ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"],
    certEncodings: ["PEM", "DER"],
    keyTypes: [
      { type: "rsa", minBits: 2048 },
      { type: "ec", curves: ["prime256v1", "secp384r1"] },
    ],
    supportsClientCert: true,
    supportsCrl: true,
    supportsSni: true,
    supportsAlpn: false,
    sources: BECKHOFF_TF6701_SOURCES,
  },
  simulation: {
    topicTemplate: "twincat/{clientId}/{tag}",
    tags: [
      { name: "axis1/position", kind: "analog", unit: "mm", min: 0, max: 500 },
      { name: "axis1/enabled", kind: "boolean" },
    ],
  },
});
