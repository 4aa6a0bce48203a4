import {
  AdapterError,
  defineAdapter,
  writeDeviceFile,
  type DeviceConfigResult,
  type DeviceFile,
  type FactSource,
} from "@proj/adapter-kit";
import { createFinding, type Finding } from "@proj/findings";
import {
  defaultPort,
  defineRule,
  type ResolvedConfig,
  type SecurityConfigInput,
} from "@proj/security-config";
import { geoScadaItemSchema, type GeoScadaBrokerItem } from "./item.js";

const SECURITY_HELP: FactSource = {
  kind: "documented",
  title: "Geo SCADA Expert 2025 help: MQTT Driver, Configure the Security Properties",
  url: "https://product-help.schneider-electric.com/RemoteOperations/Geo%20SCADA%20Expert%202025/Content/MQTTDriverGuide/ConfiguretheSecurityProperties.htm",
  note: "Enable TLS (others greyed out when clear), Check Server Certificate, Trust Store, Send Client Certificate, Key Store; X.509 certificates in PEM format only.",
};
const CERTIFICATES_HELP: FactSource = {
  kind: "documented",
  title: "Geo SCADA Expert 2025 help: What Certificates do I Require?",
  url: "https://product-help.schneider-electric.com/RemoteOperations/Geo%20SCADA%20Expert%202025/Content/DriversGuide/WhatCertificatesareRequired.htm",
  note: "A chain with intermediates is merged into one file before import; mutual authentication is required for IEC 62351-3 compliance.",
};
const assumed = (note: string): FactSource => ({
  kind: "assumed",
  title: "Conservative default: not stated in the Geo SCADA Expert help pages cited",
  note,
});

/** Where each fact of the Geo SCADA Expert profile comes from. */
export const GEOSCADA_SOURCES = {
  mqttVersions: assumed("MQTT 3.1.1."),
  tlsVersions: assumed("TLS 1.2 and 1.3, as current Windows TLS stacks offer."),
  certEncodings: SECURITY_HELP,
  keyTypes: assumed("RSA 2048 or larger, EC P-256/P-384."),
  supportsClientCert: CERTIFICATES_HELP,
  supportsCrl: assumed("The Security section has no CRL field."),
  supportsSni: assumed("Sends the broker's host name."),
  supportsAlpn: assumed("The Security section has no ALPN field."),
} as const satisfies Record<string, FactSource>;

const MQTT_VERSIONS = { "3.1.1": 4, "5.0": 5 } as const;

function invalid(message: string, findings: Finding[]): never {
  throw new AdapterError("DEVICE_CONFIG_INVALID", message, { findings });
}

/**
 * Reads a Geo SCADA Expert MQTT Broker item (JSON) into our configuration: same fields, same grey-out.
 * @throws {AdapterError} `DEVICE_CONFIG_INVALID` with one `FIELD_INVALID` finding per bad field.
 */
function fromDeviceConfig(deviceConfig: unknown): DeviceConfigResult<SecurityConfigInput> {
  const parsed = geoScadaItemSchema.safeParse(deviceConfig);
  if (!parsed.success) {
    const findings = parsed.error.issues.map((issue) =>
      createFinding(
        "FIELD_INVALID",
        "error",
        `MQTT Broker item ${issue.path.join(".") || "(root)"}: ${issue.message}.`,
        {
          path: issue.path.join("."),
          remedy: "Export the item's fields as documented in @proj/adapter-geoscada's README.",
        },
      ),
    );
    invalid(`the MQTT Broker item is not valid: ${findings.map((f) => f.message).join(" ")}`, findings);
  }
  const item = parsed.data;
  const host = item.host.includes(":") ? `[${item.host}]` : item.host;
  const config: SecurityConfigInput = {
    broker: {
      url: `${item.enableTls ? "mqtts" : "mqtt"}://${host}:${item.port}`,
      clientId: item.clientId,
      ...(item.username !== undefined ? { username: item.username } : {}),
      ...(item.password !== undefined ? { password: item.password } : {}),
      ...(item.mqttVersion !== undefined ? { protocolVersion: MQTT_VERSIONS[item.mqttVersion] } : {}),
      ...(item.keepAliveSeconds !== undefined ? { keepaliveSeconds: item.keepAliveSeconds } : {}),
    },
    security: {
      enableTls: item.enableTls,
      checkServerCertificate: item.checkServerCertificate,
      ...(item.trustStore !== undefined ? { trustStore: [item.trustStore] } : {}),
      sendClientCertificate: item.sendClientCertificate,
      ...(item.keyStore !== undefined
        ? {
            keyStore: {
              certificate: item.keyStore,
              privateKey: item.keyStore,
              ...(item.keyStorePassphrase !== undefined ? { passphrase: item.keyStorePassphrase } : {}),
            },
          }
        : {}),
    },
    device: "schneider-geoscada",
  };
  return { value: config, findings: [] };
}

/** Writes our configuration as a Geo SCADA Expert MQTT Broker item; what the item cannot hold comes back as findings. */
function toDeviceConfig(config: SecurityConfigInput): DeviceConfigResult<GeoScadaBrokerItem> {
  const findings: Finding[] = [];
  const unsupported = (
    path: string,
    message: string,
    remedy: string,
    severity: Finding["severity"] = "error",
  ) => findings.push(createFinding("DEVICE_UNSUPPORTED", severity, message, { path, remedy }));
  const urls = Array.isArray(config.broker.url) ? config.broker.url : [config.broker.url];
  if (urls.length > 1) {
    unsupported(
      "broker.url",
      `An MQTT Broker item connects to one broker; ${urls.length - 1} failover URL(s) are left out.`,
      "Add one MQTT Broker item per broker.",
      "warning",
    );
  }
  let url: URL;
  try {
    url = new URL(urls[0]!);
  } catch {
    invalid(`broker.url ${urls[0]} is not a URL`, [
      createFinding("FIELD_INVALID", "error", `broker.url ${urls[0]} is not a URL.`, { path: "broker.url" }),
    ]);
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (scheme === "ws" || scheme === "wss") {
    unsupported(
      "broker.url",
      "Geo SCADA Expert's MQTT driver connects over TCP, not WebSocket.",
      "Use the broker's mqtts:// port (8883).",
    );
  }
  const security = config.security ?? {};
  const enableTls = security.enableTls ?? true;
  const trustStore = security.trustStore === undefined ? [] : [security.trustStore].flat();
  if (trustStore.length > 1) {
    unsupported(
      "security.trustStore",
      "The Trust Store references one SSL Certificate item; the configuration names several files.",
      "Merge them into one PEM file (toDeviceFiles writes trust-store.pem) and import that.",
      "warning",
    );
  }
  // "store:NAME" names an item of the certificate store: it gives the chain and the key, as Geo SCADA's Key Store
  // field names one "SSL Certificate and Key" item.
  const ks =
    typeof security.keyStore === "string"
      ? { certificate: security.keyStore, privateKey: security.keyStore, passphrase: undefined }
      : security.keyStore;
  let keyStore: string | undefined;
  if (ks?.pkcs12 !== undefined) {
    unsupported(
      "security.keyStore.pkcs12",
      "Geo SCADA Expert imports PEM only, not a PKCS#12 bundle.",
      "Convert it: `openssl pkcs12 -in client.p12 -out key-store.pem` (certificate, chain and key in one PEM file).",
    );
  } else if (ks?.certificate !== undefined) {
    keyStore = ks.certificate;
    if (ks.privateKey !== undefined && ks.privateKey !== ks.certificate) {
      unsupported(
        "security.keyStore",
        "The SSL Certificate and Key item imports one file with the certificate, its intermediates and the key; the configuration has them apart.",
        "Merge them (toDeviceFiles writes key-store.pem) and point the Key Store at that file.",
        "info",
      );
      keyStore = "key-store.pem";
    }
  }
  const version = config.broker.protocolVersion;
  if (version === 3) {
    unsupported("broker.protocolVersion", "The item offers MQTT 3.1.1 and 5.0, not 3.1.", "Use MQTT 3.1.1.");
  }
  const item: GeoScadaBrokerItem = {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: defaultPort(url.href),
    clientId: config.broker.clientId ?? "",
    ...(config.broker.username !== undefined ? { username: config.broker.username } : {}),
    ...(config.broker.password !== undefined ? { password: config.broker.password } : {}),
    ...(version === 4
      ? { mqttVersion: "3.1.1" as const }
      : version === 5
        ? { mqttVersion: "5.0" as const }
        : {}),
    ...(config.broker.keepaliveSeconds !== undefined
      ? { keepAliveSeconds: config.broker.keepaliveSeconds }
      : {}),
    enableTls,
    checkServerCertificate: security.checkServerCertificate ?? true,
    ...(trustStore.length > 0
      ? { trustStore: trustStore.length > 1 ? "trust-store.pem" : trustStore[0]! }
      : {}),
    sendClientCertificate: security.sendClientCertificate ?? false,
    ...(keyStore !== undefined ? { keyStore } : {}),
    ...(ks?.passphrase !== undefined ? { keyStorePassphrase: ks.passphrase } : {}),
  };
  if (!item.clientId) {
    findings.push(
      createFinding("FIELD_INVALID", "error", "The item needs a client id; broker.clientId is not set.", {
        path: "broker.clientId",
        remedy: 'Set "clientId" (unique per broker connection).',
      }),
    );
  }
  return { value: item, findings };
}

async function toDeviceFiles(resolved: ResolvedConfig, dir: string): Promise<DeviceFile[]> {
  const { security } = resolved.config;
  const files: DeviceFile[] = [];
  if (security.enableTls && security.checkServerCertificate) {
    if (!resolved.trustStore || resolved.trustStore.pems.length === 0)
      throw new AdapterError("CONFIG_INVALID", "the configuration has no trust store to import");
    files.push(
      await writeDeviceFile(dir, "trust-store.pem", resolved.trustStore.pems.join(""), {
        role: "trust-store",
        encoding: "PEM",
        description:
          "Import into an SSL Certificate item; reference it in the MQTT Broker item's Trust Store",
      }),
    );
  }
  if (security.enableTls && security.sendClientCertificate) {
    const keyStore = resolved.keyStore;
    if (!keyStore || keyStore.chain.length === 0 || keyStore.keyPem === undefined)
      throw new AdapterError(
        "CONFIG_INVALID",
        "the configuration has no readable client certificate and key",
      );
    files.push(
      await writeDeviceFile(dir, "key-store.pem", [...keyStore.chain, keyStore.keyPem].join(""), {
        role: "key-store",
        encoding: "PEM",
        secret: true,
        description:
          "Import into an SSL Certificate and Key item (end-entity certificate, intermediates, private key); reference it in the Key Store",
      }),
    );
  }
  return files;
}

/** Geo SCADA Expert's help: IEC 62351-3 compliance needs mutual authentication (the iec62351-3 profile makes it an error). */
const mutualAuthentication = defineRule({
  name: "geoScadaMutualAuthentication",
  codes: ["MUTUAL_AUTH_REQUIRED"],
  check: ({ resolved, profile }) => {
    const { security } = resolved.config;
    if (profile.id === "iec62351-3" || (security.checkServerCertificate && security.sendClientCertificate))
      return [];
    return [
      {
        code: "MUTUAL_AUTH_REQUIRED",
        severity: "warning",
        path: security.checkServerCertificate
          ? "security.sendClientCertificate"
          : "security.checkServerCertificate",
        message:
          "Geo SCADA Expert's help recommends mutual authentication, and IEC 62351-3 compliance requires it: tick both Check Server Certificate and Send Client Certificate.",
        remedy:
          "Issue Geo SCADA Expert a client certificate, import it as an SSL Certificate and Key item, and reference it in the Key Store.",
      },
    ];
  },
});

/** The merged-file rule: one SSL Certificate item per Trust Store, one merged PEM per Key Store. */
const singleFiles = defineRule({
  name: "geoScadaSingleFiles",
  codes: ["DEVICE_UNSUPPORTED"],
  check: ({ resolved }) => {
    const { security } = resolved.config;
    const out = [];
    const trust = security.trustStore === undefined ? [] : [security.trustStore].flat();
    if (security.checkServerCertificate && trust.length > 1) {
      out.push({
        code: "DEVICE_UNSUPPORTED" as const,
        severity: "info" as const,
        path: "security.trustStore",
        message:
          "Geo SCADA Expert's Trust Store references one SSL Certificate item: the files are merged into one for it.",
        remedy: "Import the merged trust-store.pem that toDeviceFiles writes.",
      });
    }
    const ks = security.keyStore;
    if (
      security.sendClientCertificate &&
      ks?.certificate !== undefined &&
      ks.privateKey !== undefined &&
      ks.certificate !== ks.privateKey
    ) {
      out.push({
        code: "DEVICE_UNSUPPORTED" as const,
        severity: "info" as const,
        path: "security.keyStore",
        message: "Geo SCADA Expert imports the certificate, its intermediates and the key as one PEM file.",
        remedy: "Import the key-store.pem that toDeviceFiles writes (end-entity, intermediates, key).",
      });
    }
    return out;
  },
});

/**
 * Schneider Electric Geo SCADA Expert as an MQTT client (its MQTT Broker item): the five Security fields mapped to
 * and from our configuration, PEM only, the grey-out, the merged key store file, and mutual authentication for
 * IEC 62351-3.
 *
 * @example
 * ```ts
 * import { geoScada } from "@proj/adapter-geoscada";
 * const { value: config } = geoScada.fromDeviceConfig(item);
 * const { value: backAgain } = geoScada.toDeviceConfig(config); // deep-equals item
 * ```
 */
export const geoScada = defineAdapter({
  id: "schneider-geoscada",
  name: "Schneider Electric Geo SCADA Expert",
  vendor: "Schneider Electric",
  models: [
    "Geo SCADA Expert 2020",
    "Geo SCADA Expert 2022",
    "Geo SCADA Expert 2023",
    "Geo SCADA Expert 2025",
  ],
  description:
    "The MQTT driver's MQTT Broker item: Enable TLS, Check Server Certificate, Trust Store, Send Client Certificate, Key Store.",
  profile: {
    mqttVersions: [4],
    tlsVersions: ["TLSv1.2", "TLSv1.3"],
    certEncodings: ["PEM"],
    keyTypes: [
      { type: "rsa", minBits: 2048 },
      { type: "ec", curves: ["prime256v1", "secp384r1"] },
    ],
    supportsClientCert: true,
    supportsCrl: false,
    supportsSni: true,
    supportsAlpn: false,
    sources: GEOSCADA_SOURCES,
  },
  rules: [mutualAuthentication, singleFiles],
  toDeviceFiles,
  fromDeviceConfig,
  toDeviceConfig,
  simulation: {
    topicTemplate: "scada/{clientId}/{tag}",
    tags: [{ name: "heartbeat", kind: "counter" }],
  },
  examples: {
    deviceConfigs: [
      {
        host: "broker.plant.local",
        port: 8883,
        clientId: "geoscada-main",
        username: "scada",
        password: "env:MQTT_PASSWORD",
        mqttVersion: "3.1.1",
        enableTls: true,
        checkServerCertificate: true,
        trustStore: "certs/trust-store.pem",
        sendClientCertificate: true,
        keyStore: "certs/key-store.pem",
        keyStorePassphrase: "env:KEY_PASSPHRASE",
      },
      {
        host: "10.0.0.20",
        port: 1883,
        clientId: "geoscada-lab",
        enableTls: false,
        checkServerCertificate: true,
        trustStore: "certs/trust-store.pem",
        sendClientCertificate: false,
      },
    ] satisfies GeoScadaBrokerItem[],
  },
});
