import { defineAdapter, type FactSource } from "@proj/adapter-kit";

const LIBRARY: FactSource = {
  kind: "documented",
  title: "CODESYS Online Help: IIoT Libraries, Library MQTT Client SL",
  url: "https://content.helpme-codesys.com/en/CODESYS%20IIOT%20Libraries/_iiot_lib_mqtt_client.html",
  note: "MQTT 3.1.1 and MQTT 5.0; TLS encryption; client certificates handed over as a certificate handle of the runtime's certificate store.",
};
const assumed = (note: string): FactSource => ({
  kind: "assumed",
  title: "Conservative default: not stated in the CODESYS page cited",
  note,
});

/** Where each fact of the CODESYS MQTT Client SL profile comes from. */
export const CODESYS_MQTT_SOURCES = {
  mqttVersions: LIBRARY,
  tlsVersions: assumed("TLS 1.2 and 1.3 from the runtime's OpenSSL."),
  certEncodings: LIBRARY,
  keyTypes: assumed("RSA 2048 or larger, as the runtime's certificate store creates them."),
  supportsClientCert: LIBRARY,
  supportsCrl: assumed("No CRL parameter is mentioned."),
  supportsSni: assumed("Sends the broker's host name."),
  supportsAlpn: assumed("No ALPN parameter is mentioned."),
} as const satisfies Record<string, FactSource>;

/**
 * CODESYS MQTT Client SL (MQTTClient, MQTTPublish, MQTTSubscribe function blocks): MQTT 3.1.1 and 5, TLS, client
 * certificates from the runtime's certificate store. A profile-only adapter.
 *
 * @example
 * ```ts
 * import { loadForDevice } from "@proj/adapter-kit";
 * import { codesysMqtt } from "@proj/adapter-codesys";
 * const { findings } = await loadForDevice(config, codesysMqtt);
 * ```
 */
export const codesysMqtt = defineAdapter({
  id: "codesys-mqtt",
  name: "CODESYS MQTT Client SL",
  vendor: "CODESYS",
  models: ["CODESYS Control runtimes with the MQTT Client SL library"],
  description:
    "The CODESYS IIoT library's MQTT client; certificates live in the runtime's certificate store.",
  profile: {
    mqttVersions: [4, 5],
    tlsVersions: ["TLSv1.2", "TLSv1.3"],
    certEncodings: ["store"],
    keyTypes: [{ type: "rsa", minBits: 2048 }],
    supportsClientCert: true,
    supportsCrl: false,
    supportsSni: true,
    supportsAlpn: false,
    sources: CODESYS_MQTT_SOURCES,
  },
  simulation: {
    topicTemplate: "codesys/{clientId}/{tag}",
    tags: [{ name: "plc/cycle-time", kind: "analog", unit: "ms", min: 1, max: 10 }],
  },
});
