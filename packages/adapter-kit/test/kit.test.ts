import { validateConfig } from "@proj/security-config";
import { createTestPki, mutualTlsTargets, startTestBroker, type TestPki } from "@proj/test-broker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkAgainstProfile,
  createRegistry,
  defineAdapter,
  isAdapterError,
  simulateDevice,
  validateForDevice,
  type Adapter,
  type DeviceProfile,
} from "../src/index.js";
import { describeAdapterContract, describeSimulator } from "../src/testing.js";

const doc = {
  kind: "documented",
  title: "ACME P100 manual, MQTT chapter",
  url: "https://example.com/p100",
} as const;

/** A third party's adapter, written from the README alone. */
const acme = defineAdapter({
  id: "acme-p100",
  name: "ACME P100",
  vendor: "ACME",
  models: ["P100", "P110"],
  profile: {
    mqttVersions: [4, 5],
    tlsVersions: ["TLSv1.2", "TLSv1.3"],
    certEncodings: ["PEM"],
    keyTypes: [{ type: "ec", curves: ["prime256v1"] }],
    maxCertBytes: 2048,
    maxChainDepth: 1,
    supportsClientCert: true,
    supportsCrl: false,
    supportsSni: true,
    supportsAlpn: false,
    sources: {
      mqttVersions: doc,
      tlsVersions: doc,
      certEncodings: doc,
      keyTypes: doc,
      maxCertBytes: doc,
      maxChainDepth: doc,
      supportsClientCert: doc,
      supportsCrl: { kind: "assumed", title: "not in the manual" },
      supportsSni: doc,
      supportsAlpn: doc,
    },
  },
  simulation: {
    topicTemplate: "acme/{clientId}/{tag}",
    tags: [{ name: "speed", kind: "analog", unit: "rpm" }],
  },
});

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "adapter-kit", keyType: "ec-p256" });
});
afterAll(() => pki.cleanup());

const mutual = (url: string) => ({
  broker: { url },
  security: {
    trustStore: [pki.caFile],
    sendClientCertificate: true,
    keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
  },
});

describeAdapterContract(acme);
describeSimulator(
  acme,
  mutualTlsTargets(() => pki),
);

describe("defineAdapter", () => {
  it("refuses an adapter that breaks the contract, naming every problem", () => {
    const { sources, ...facts } = acme.profile;
    const broken = {
      ...acme,
      id: "Acme_P100",
      models: [],
      profile: { ...facts, tlsVersions: ["SSLv3"], sources: { ...sources, keyTypes: undefined } },
    } as unknown as Adapter;
    let error: unknown;
    try {
      defineAdapter(broken);
    } catch (caught) {
      error = caught;
    }
    expect(isAdapterError(error) && error.code).toBe("DEFINITION_INVALID");
    expect((error as Error).message).toMatch(
      /not kebab-case.*models is empty.*tlsVersions.*keyTypes has no source/,
    );
  });
});

describe("createRegistry", () => {
  it("is an instance: two registries do not share adapters", () => {
    const one = createRegistry([acme]);
    const two = createRegistry([]);
    expect(one.require("acme-p100")).toBe(acme);
    expect(two.has("acme-p100")).toBe(false);
    expect(() => two.require("acme-p100")).toThrow(/no device adapter "acme-p100"; known: none/);
  });

  it("refuses two adapters with one id", () => {
    expect(() => createRegistry([acme, acme])).toThrow(
      expect.objectContaining({ code: "DUPLICATE_ADAPTER" }),
    );
  });
});

describe("checkAgainstProfile", () => {
  const check = (config: unknown, profile: DeviceProfile = acme.profile) => {
    const { resolved } = validateConfig(config, { baseDir: pki.dir });
    return checkAgainstProfile(resolved!, profile, { deviceName: "ACME P100" });
  };

  it("names each gap with its path and says whether the fact is documented or assumed", async () => {
    const rsa = await pki.issueClient({ name: "acme-rsa", keyType: "rsa3072" });
    const findings = check({
      broker: { url: "mqtts://localhost:8883", protocolVersion: 3 },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: rsa.files.chain, privateKey: rsa.files.key },
        crl: [(await pki.createCrl()).file],
        alpn: ["mqtt"],
      },
    });
    expect(findings.map((f) => [f.path, f.severity])).toEqual([
      ["broker.protocolVersion", "error"],
      ["security.alpn", "error"],
      ["security.crl", "warning"],
      ["security.keyStore.privateKey", "error"],
    ]);
    expect(findings[3]!.message).toMatch(
      /RSA 3072 bits; ACME P100 takes EC P-256 \(documented: ACME P100 manual, MQTT chapter\)\./,
    );
    expect(findings[2]!.message).toMatch(/assumed, not confirmed by the vendor/);
    expect(findings.every((f) => f.code === "DEVICE_UNSUPPORTED" && f.remedy)).toBe(true);
  });

  it("counts the client chain and the size of each certificate", async () => {
    const withIntermediate = await createTestPki({ name: "adapter-kit-chain", intermediate: true });
    try {
      const findings = check(
        {
          broker: { url: "mqtts://localhost:8883" },
          security: {
            trustStore: [withIntermediate.caFile],
            sendClientCertificate: true,
            keyStore: {
              certificate: withIntermediate.client.files.chain,
              privateKey: withIntermediate.client.files.key,
            },
          },
        },
        { ...acme.profile, maxCertBytes: 300 },
      );
      expect(findings.map((f) => f.path)).toEqual([
        "security.keyStore.certificate",
        "security.keyStore.certificate",
        "security.keyStore.certificate",
        "security.trustStore",
      ]);
      expect(findings[0]!.message).toMatch(/2 certificates; ACME P100 loads at most 1/);
      expect(findings[1]!.message).toMatch(
        /CN=client.* is \d+ bytes; ACME P100 loads certificates up to 300 bytes/,
      );
    } finally {
      await withIntermediate.cleanup();
    }
  });

  it("asks for the conversion when the device cannot take a PKCS#12 bundle", async () => {
    const p12 = pki.client.toPkcs12({ passphrase: "p12-secret" });
    const findings = check({
      broker: { url: "mqtts://localhost:8883" },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: { pkcs12: await pki.client.writeFile("acme.p12", p12), passphrase: "p12-secret" },
      },
    });
    expect(findings).toEqual([
      expect.objectContaining({
        path: "security.keyStore.pkcs12",
        remedy: expect.stringContaining("openssl pkcs12"),
      }),
    ]);
    expect(JSON.stringify(findings)).not.toContain("p12-secret");
  });

  it("joins the built-in findings through validateForDevice", () => {
    const { findings } = validateForDevice(
      {
        broker: { url: "mqtts://localhost:8883", protocolVersion: 3 },
        security: { trustStore: [pki.caFile] },
      },
      acme,
      { baseDir: pki.dir },
    );
    expect(findings.map((f) => f.code)).toContain("DEVICE_UNSUPPORTED");
  });
});

describe("simulateDevice", () => {
  it("refuses files the device could not load, before any connection", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const rsa = await pki.issueClient({ name: "acme-rsa", keyType: "rsa2048" });
    const config = {
      ...mutual(broker.url),
      security: {
        ...mutual(broker.url).security,
        keyStore: { certificate: rsa.files.chain, privateKey: rsa.files.key },
      },
    };
    const failure = await simulateDevice(acme, config, { baseDir: pki.dir }).catch((e: unknown) => e);
    expect(isAdapterError(failure) && failure.code).toBe("DEVICE_UNSUPPORTED");
    expect((failure as { findings: unknown[] }).findings).toHaveLength(1);
    expect((failure as { findings: unknown[] }).findings[0]).toMatchObject({
      code: "DEVICE_UNSUPPORTED",
      severity: "error",
      path: "security.keyStore.privateKey",
    });
    expect(broker.connections).toHaveLength(0);
  });

  it("keeps the device's TLS versions inside what the configuration allows", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    await using device = await simulateDevice(
      acme,
      { ...mutual(broker.url), security: { ...mutual(broker.url).security, maxTlsVersion: "TLSv1.2" } },
      { baseDir: pki.dir, rounds: 3, intervalMs: 10 },
    );
    await device.done;
    expect(device.tlsInfo?.protocol).toBe("TLSv1.2");
    expect(device.published).toBe(3);
  });
});
