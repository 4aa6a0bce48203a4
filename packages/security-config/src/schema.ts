import { z } from "zod";

const TLS_VERSIONS = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] as const;
/** A TLS protocol version as Node names it (`minVersion`, `maxVersion`): `TLSv1` to `TLSv1.3`. */
export type TlsVersion = (typeof TLS_VERSIONS)[number];

const pathOrPem = z
  .string()
  .min(1)
  .describe("A file path (relative to the config file), inline PEM, or env:NAME.");

const brokerSchema = z
  .strictObject({
    url: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe("mqtt://, mqtts://, ws:// or wss:// URL; a list gives the failover order."),
    clientId: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional().describe("Use env:NAME rather than the password itself."),
    protocolVersion: z
      .union([z.literal(3), z.literal(4), z.literal(5)])
      .default(4)
      .describe("4 = MQTT 3.1.1, 5 = MQTT 5, 3 = MQTT 3.1."),
    keepaliveSeconds: z.number().int().min(0).max(65_535).default(30),
    cleanSession: z
      .boolean()
      .default(true)
      .describe(
        "false: the broker keeps the session (subscriptions, queued QoS 1/2 messages) across disconnects.",
      ),
    connectTimeoutMs: z.number().int().positive().default(10_000),
  })
  .describe("The broker to connect to, as an MQTT client.");

const keyStoreSchema = z
  .strictObject({
    certificate: pathOrPem.optional().describe("End-entity certificate followed by its intermediates (PEM)."),
    privateKey: pathOrPem.optional().describe("The certificate's private key (PEM; may be encrypted)."),
    pkcs12: pathOrPem.optional().describe("A .p12/.pfx bundle instead of certificate and privateKey."),
    passphrase: z.string().optional().describe("Passphrase of the key or the PKCS#12 bundle; use env:NAME."),
  })
  .describe(
    "The client's certificate chain and private key: { certificate, privateKey, passphrase? } or { pkcs12, passphrase? }.",
  );

/** `store:NAME`: a certificate-and-key item of a certificate store instead of files (Geo SCADA's Key Store field). */
const keyStoreReference = z
  .string()
  .regex(/^store:[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
  .describe('A certificate-and-key item of the certificate store: "store:NAME".');

const securitySchema = z
  .strictObject({
    enableTls: z.boolean().default(true).describe("false: every other field here is ignored, and reported."),
    checkServerCertificate: z.boolean().default(true).describe("The client authenticates the broker."),
    trustStore: z
      .union([pathOrPem, z.array(pathOrPem)])
      .optional()
      .describe("CA roots (or the broker's self-signed certificate) the broker's chain must lead to."),
    sendClientCertificate: z
      .boolean()
      .default(false)
      .describe("The broker authenticates the client by certificate."),
    keyStore: z
      .union([keyStoreSchema, keyStoreReference])
      // One shape downstream: the item gives both the chain and the key.
      .transform((value) => (typeof value === "string" ? { certificate: value, privateKey: value } : value))
      .optional(),
    serverName: z
      .string()
      .min(1)
      .optional()
      .describe("Expected broker identity (SNI and name check); default: the URL host."),
    minTlsVersion: z.enum(TLS_VERSIONS).default("TLSv1.2"),
    maxTlsVersion: z.enum(TLS_VERSIONS).default("TLSv1.3"),
    ciphers: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe("OpenSSL cipher list for TLS 1.2 and below."),
    alpn: z.array(z.string().min(1)).nullable().default(null),
    pinnedCertificates: z
      .array(z.string())
      .default([])
      .describe('"sha256/<base64 SPKI hash>": accept only brokers whose key is one of these.'),
    crl: z.array(pathOrPem).default([]).describe("PEM CRL files."),
    profile: z
      .string()
      .min(1)
      .default("baseline")
      .describe('"baseline", "iec62351-3", or a profile defined in code.'),
    expiryWarningDays: z.number().int().min(0).default(30),
    renegotiationIntervalHours: z.number().positive().optional().describe("IEC 62351-3: at most 24."),
    resumptionIntervalHours: z
      .number()
      .positive()
      .optional()
      .describe("IEC 62351-3: below the renegotiation interval."),
    crlRefreshHours: z.number().positive().optional(),
  })
  .describe(
    "The Security section: Enable TLS, Check Server Certificate, Trust Store, Send Client Certificate, Key Store.",
  );

const sparkplugSchema = z
  .strictObject({
    groupId: z.string().optional().describe("The Sparkplug group id: one topic level, no + # /."),
    edgeNodeId: z
      .string()
      .optional()
      .describe(
        "The edge node id this client publishes as; with a broker ACL keyed on the certificate identity, the client certificate's CN.",
      ),
    deviceIds: z.array(z.string()).default([]).describe("The devices this edge node reports on."),
    primaryHostId: z
      .string()
      .optional()
      .describe("The primary host application whose STATE the edge node waits for before its births."),
    hostId: z.string().optional().describe("The host id when this client is a Sparkplug host application."),
  })
  .describe("Sparkplug B: who this client is in the Sparkplug namespace (section 11 of the design).");

/** The runtime schema of a configuration file: one shape for the library, the CLI and editors. */
export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    broker: brokerSchema,
    security: securitySchema.prefault({}),
    device: z.string().min(1).optional().describe("Check against a device adapter, e.g. altus-nexto."),
    sparkplug: sparkplugSchema.optional(),
  })
  .describe("mqtt-tls configuration: an MQTT broker connection and its TLS security settings.");

/** A configuration as written in a file or handed to the library (defaults not applied). */
export type SecurityConfigInput = z.input<typeof configSchema>;
/** A configuration after parsing: every default applied. */
export type SecurityConfig = z.output<typeof configSchema>;

/**
 * The JSON Schema of the configuration (draft 2020-12), for editor completion. The build writes it to
 * `schema/security-config.schema.json`; reference it with `"$schema"` in a config file.
 *
 * @example
 * ```ts
 * await writeFile("security-config.schema.json", JSON.stringify(configJsonSchema(), null, 2));
 * ```
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: "input", target: "draft-2020-12" }),
    $id: "https://unpkg.com/@proj/security-config/schema/security-config.schema.json",
    title: "mqtt-tls security configuration",
  };
}

/** The fields of each object of the configuration, by its path ("" for the top): what "did you mean" offers. */
export const CONFIG_FIELDS: Readonly<Record<string, readonly string[]>> = {
  "": Object.keys(configSchema.shape),
  broker: Object.keys(brokerSchema.shape),
  security: Object.keys(securitySchema.shape),
  "security.keyStore": Object.keys(keyStoreSchema.shape),
};
