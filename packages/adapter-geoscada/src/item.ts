import { z } from "zod";

/**
 * The fields of a Geo SCADA Expert **MQTT Broker** item that this adapter maps, as JSON (Broker tab: general,
 * connection and Security sections). `trustStore` and `keyStore` name the PEM files that the referenced
 * **SSL Certificate** and **SSL Certificate and Key** database items import.
 */
export const geoScadaItemSchema = z.strictObject({
  host: z.string().min(1).describe("Broker host name or IP address."),
  port: z.number().int().min(1).max(65_535),
  clientId: z.string().min(1),
  username: z.string().optional(),
  password: z.string().optional().describe("Use env:NAME rather than the password itself."),
  mqttVersion: z.enum(["3.1.1", "5.0"]).optional(),
  keepAliveSeconds: z.number().int().min(0).max(65_535).optional(),
  enableTls: z.boolean().describe("Enable TLS; cleared, every other Security field is greyed out."),
  checkServerCertificate: z.boolean().describe("Geo SCADA Expert (the client) authenticates the broker."),
  trustStore: z
    .string()
    .min(1)
    .optional()
    .describe("PEM file of the SSL Certificate item: the broker's root CA, or its self-signed certificate."),
  sendClientCertificate: z.boolean().describe("The broker authenticates Geo SCADA Expert."),
  keyStore: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Merged PEM file of the SSL Certificate and Key item: end-entity certificate, intermediates, private key.",
    ),
  keyStorePassphrase: z.string().optional().describe("Passphrase of an encrypted key; use env:NAME."),
});

/** A Geo SCADA Expert MQTT Broker item, as JSON. */
export type GeoScadaBrokerItem = z.infer<typeof geoScadaItemSchema>;
