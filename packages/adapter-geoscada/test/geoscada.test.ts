import { isAdapterError, validateForDevice } from "@proj/adapter-kit";
import { describeAdapterContract, describeSimulator } from "@proj/adapter-kit/testing";
import { probe } from "@proj/mqtt-tls";
import { validateConfig } from "@proj/security-config";
import {
  createTestPki,
  mosquittoSkipReason,
  startMosquitto,
  startTestBroker,
  type TestPki,
} from "@proj/test-broker";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { geoScada, type GeoScadaBrokerItem } from "../src/index.js";

let pki: TestPki;
let exportDir: string;
let item: (url: string) => GeoScadaBrokerItem;

beforeAll(async () => {
  pki = await createTestPki({ name: "geoscada", keyType: "rsa2048", intermediate: true });
  exportDir = await mkdtemp(join(tmpdir(), "geoscada-export-"));
  // Our config with separate files, as an integrator has them...
  const ours = {
    broker: { url: "mqtts://127.0.0.1:8883", clientId: "geoscada-main" },
    security: {
      trustStore: [pki.caFile],
      sendClientCertificate: true,
      keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
    },
  };
  // ...exported as the files Geo SCADA imports and the item that references them.
  const { resolved } = validateConfig(ours, { baseDir: pki.dir });
  await geoScada.toDeviceFiles(resolved!, exportDir);
  const { value } = geoScada.toDeviceConfig(ours);
  item = (url) => {
    const { hostname, port } = new URL(url);
    return { ...value, host: hostname, port: Number(port), trustStore: "trust-store.pem" };
  };
});
afterAll(async () => {
  await pki.cleanup();
  await rm(exportDir, { recursive: true, force: true });
});

describeAdapterContract(geoScada);

describeSimulator(geoScada, [
  {
    name: "the embedded aedes broker, from an exported MQTT Broker item",
    start: async () => {
      const broker = await startTestBroker({ pki, requireClientCert: true });
      const config = geoScada.fromDeviceConfig(item(broker.url)).value;
      return { config, baseDir: exportDir, [Symbol.asyncDispose]: () => broker.close() };
    },
  },
  {
    name: "Mosquitto, from an exported MQTT Broker item",
    skip: mosquittoSkipReason(),
    start: async () => {
      const broker = await startMosquitto({ pki, requireCertificate: true });
      const config = geoScada.fromDeviceConfig(item(broker.url)).value;
      return { config, baseDir: exportDir, [Symbol.asyncDispose]: () => broker.close() };
    },
  },
]);

describe("Geo SCADA Expert", () => {
  it("exports the key store as one merged PEM (end-entity, intermediate, key) readable by its owner only", async () => {
    const merged = await readFile(join(exportDir, "key-store.pem"), "utf8");
    expect(merged.match(/-----BEGIN [A-Z ]+-----/g)).toEqual([
      "-----BEGIN CERTIFICATE-----",
      "-----BEGIN CERTIFICATE-----",
      "-----BEGIN PRIVATE KEY-----",
    ]);
    expect(merged.startsWith(pki.client.cert)).toBe(true);
    expect((await stat(join(exportDir, "key-store.pem"))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(exportDir, "trust-store.pem"), "utf8")).toBe(pki.caPem);
  });

  it("tells the integrator the key store becomes one file", () => {
    const { value, findings } = geoScada.toDeviceConfig({
      broker: { url: "mqtts://broker:8883", clientId: "geoscada-main" },
      security: {
        sendClientCertificate: true,
        keyStore: { certificate: "client.crt", privateKey: "client.key" },
      },
    });
    expect(value.keyStore).toBe("key-store.pem");
    expect(findings).toEqual([
      expect.objectContaining({ code: "DEVICE_UNSUPPORTED", severity: "info", path: "security.keyStore" }),
    ]);
  });

  it("round-trips an item whose Security section is greyed out, and reports the greyed-out fields", () => {
    const greyed: GeoScadaBrokerItem = {
      host: "10.0.0.20",
      port: 1883,
      clientId: "geoscada-lab",
      enableTls: false,
      checkServerCertificate: true,
      trustStore: join(pki.dir, "root.crt"),
      sendClientCertificate: false,
    };
    const { value } = geoScada.fromDeviceConfig(greyed);
    expect(geoScada.toDeviceConfig(value).value).toEqual(greyed);
    const { findings } = validateForDevice(value, geoScada);
    expect(findings.map((f) => [f.code, f.severity])).toEqual(
      expect.arrayContaining([
        ["TLS_DISABLED", "warning"],
        ["FIELD_IGNORED", "info"],
      ]),
    );
  });

  it("accepts PEM only: a DER trust store and a PKCS#12 key store are named with their conversion", async () => {
    const der = join(exportDir, "root.der");
    await writeFile(der, pki.root.certDer);
    const { value } = geoScada.fromDeviceConfig({ ...item("mqtts://127.0.0.1:8883"), trustStore: der });
    const { findings } = validateForDevice(value, geoScada, { baseDir: exportDir });
    expect(findings).toContainEqual(
      expect.objectContaining({
        code: "NOT_PEM_DER",
        severity: "error",
        remedy: expect.stringContaining("openssl x509"),
      }),
    );
    const p12 = geoScada.toDeviceConfig({
      broker: { url: "mqtts://broker:8883", clientId: "geoscada-main" },
      security: { sendClientCertificate: true, keyStore: { pkcs12: "client.p12", passphrase: "env:P12" } },
    });
    expect(p12.findings).toContainEqual(
      expect.objectContaining({
        code: "DEVICE_UNSUPPORTED",
        severity: "error",
        path: "security.keyStore.pkcs12",
      }),
    );
  });

  it("asks for mutual authentication: an error under IEC 62351-3, a warning citing the help otherwise", () => {
    const oneWay = geoScada.fromDeviceConfig({
      ...item("mqtts://127.0.0.1:8883"),
      sendClientCertificate: false,
      keyStore: undefined,
    }).value;
    const strict = validateForDevice(oneWay, geoScada, { baseDir: exportDir, profile: "iec62351-3" });
    expect(strict.findings.filter((f) => f.code === "MUTUAL_AUTH_REQUIRED").map((f) => f.severity)).toEqual([
      "error",
    ]);
    const baseline = validateForDevice(oneWay, geoScada, { baseDir: exportDir });
    expect(baseline.findings.filter((f) => f.code === "MUTUAL_AUTH_REQUIRED")).toEqual([
      expect.objectContaining({
        severity: "warning",
        message: expect.stringMatching(/Geo SCADA Expert's help/),
      }),
    ]);
  });

  it("refuses an item without the documented shape, naming each field and never its secrets", () => {
    let error: unknown;
    try {
      geoScada.fromDeviceConfig({
        host: "",
        port: 70000,
        clientId: "x",
        password: "hunter2-secret",
        enableTls: "yes",
      });
    } catch (caught) {
      error = caught;
    }
    expect(isAdapterError(error) && error.code).toBe("DEVICE_CONFIG_INVALID");
    const paths = (error as { findings: { path: string }[] }).findings.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "host",
        "port",
        "enableTls",
        "checkServerCertificate",
        "sendClientCertificate",
      ]),
    );
    expect(JSON.stringify(error) + (error as Error).message).not.toContain("hunter2-secret");
  });

  it.skipIf(mosquittoSkipReason())(
    "connects to Mosquitto with the configuration read from the item",
    async () => {
      await using mosquitto = await startMosquitto({ pki, requireCertificate: true });
      const config = geoScada.fromDeviceConfig(item(mosquitto.url)).value;
      const result = await probe(config, { baseDir: exportDir });
      expect(result).toMatchObject({ connected: true, findings: [] });
    },
  );
});
