import { Ajv2020 } from "ajv/dist/2020.js";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configJsonSchema, validateConfig } from "../src/index.js";

/** The example configuration of the security-config README, comments removed: it must stay valid. */
const DESIGN_EXAMPLE = {
  broker: {
    url: "mqtts://broker.local:8883",
    clientId: "line1-nx3004",
    username: "plc",
    password: "env:MQTT_PASSWORD",
    protocolVersion: 4,
    keepaliveSeconds: 30,
    connectTimeoutMs: 10000,
  },
  security: {
    enableTls: true,
    checkServerCertificate: true,
    trustStore: ["certs/ca.pem"],
    sendClientCertificate: true,
    keyStore: {
      certificate: "certs/client-chain.pem",
      privateKey: "certs/client.key",
      passphrase: "env:KEY_PASSPHRASE",
    },
    serverName: "broker.local",
    minTlsVersion: "TLSv1.2",
    maxTlsVersion: "TLSv1.3",
    ciphers: null,
    alpn: null,
    pinnedCertificates: [],
    crl: [],
    profile: "baseline",
    expiryWarningDays: 30,
  },
  device: "altus-nexto",
};

function compile() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  return ajv.compile(configJsonSchema());
}

describe("the JSON Schema", () => {
  it("validates the design's example configuration, and the PKCS#12 key store form", () => {
    const validate = compile();
    expect(validate(DESIGN_EXAMPLE), JSON.stringify(validate.errors)).toBe(true);
    const p12 = {
      ...DESIGN_EXAMPLE,
      security: { ...DESIGN_EXAMPLE.security, keyStore: { pkcs12: "certs/plc.p12", passphrase: "env:P12" } },
    };
    expect(validate(p12)).toBe(true);
  });

  it("refuses what the runtime schema refuses: unknown keys, wrong types", () => {
    const validate = compile();
    expect(validate({ broker: { url: "mqtts://x", port: 1 } })).toBe(false);
    expect(validate({ broker: { url: "mqtts://x" }, security: { enableTls: "yes" } })).toBe(false);
    expect(validate({ security: {} })).toBe(false);
    const runtime = validateConfig({ broker: { url: "mqtts://x", port: 1 } }).findings.map((f) => f.code);
    expect(runtime).toContain("UNKNOWN_FIELD");
  });

  it("is the file in the package (pnpm build rewrites it; a stale copy fails here)", () => {
    const written = readFileSync(new URL("../schema/security-config.schema.json", import.meta.url), "utf8");
    expect(JSON.parse(written)).toEqual(configJsonSchema());
  });
});
