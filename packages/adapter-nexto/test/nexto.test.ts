import { checkAgainstProfile, isAdapterError, simulateDevice, validateForDevice } from "@proj/adapter-kit";
import { describeAdapterContract, describeSimulator } from "@proj/adapter-kit/testing";
import { isMqttTlsError, probe } from "@proj/mqtt-tls";
import { validateConfig } from "@proj/security-config";
import {
  createTestPki,
  mosquittoSkipReason,
  mutualTlsTargets,
  startMosquitto,
  startTestBroker,
  type TestPki,
} from "@proj/test-broker";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nexto } from "../src/index.js";

let pki: TestPki;
beforeAll(async () => {
  // The PLC documents nothing but RSA for its own key; the broker's certificate may be anything.
  pki = await createTestPki({ name: "nexto", keyType: "rsa2048", intermediate: true });
});
afterAll(() => pki.cleanup());

const mutual = (url: string, extra: Record<string, unknown> = {}) => ({
  broker: { url, clientId: "line1-nx3004" },
  security: {
    trustStore: [pki.caFile],
    sendClientCertificate: true,
    keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
    ...extra,
  },
});

describeAdapterContract(nexto);

describeSimulator(
  nexto,
  mutualTlsTargets(() => pki, { clientId: "line1-nx3004" }),
);

describe("Altus Nexto", () => {
  it("speaks TLS 1.2 where the configuration and the broker would allow TLS 1.3", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    await using plc = await simulateDevice(nexto, mutual(broker.url), { baseDir: pki.dir, rounds: 1 });
    expect(plc.behaviour.tlsVersions).toEqual(["TLSv1.2"]);
    expect(plc.tlsInfo?.protocol).toBe("TLSv1.2");
    expect(plc.topics).toContain("nexto/line1-nx3004/line1/tank-level");
    const connected = await broker.waitForClient("line1-nx3004");
    // The broker saw what the PLC would show it: TLS 1.2 and the PLC's certificate.
    expect(connected).toMatchObject({ tlsVersion: "TLSv1.2", certificate: { subjectCn: "client" } });
  });

  const tls13Only = [
    {
      name: "aedes",
      skip: false as const,
      start: async () => {
        const broker = await startTestBroker({ pki, requireClientCert: true, minVersion: "TLSv1.3" });
        return { url: broker.url, [Symbol.asyncDispose]: () => broker.close() };
      },
    },
    {
      name: "Mosquitto",
      skip: mosquittoSkipReason(),
      start: async () => {
        const broker = await startMosquitto({ pki, requireCertificate: true, tlsVersion: "tlsv1.3" });
        return { url: broker.url, [Symbol.asyncDispose]: () => broker.close() };
      },
    },
  ];
  for (const target of tls13Only) {
    it.skipIf(target.skip)(
      `is predicted to fail on a TLS-1.3-only ${target.name} broker, and does, with TLS_VERSION_MISMATCH`,
      async () => {
        await using broker = await target.start();
        // The broker's policy, written into the config: the check predicts the failure before any connection.
        const config = mutual(broker.url, { minTlsVersion: "TLSv1.3" });
        const { resolved } = validateConfig(config, { baseDir: pki.dir });
        const predicted = checkAgainstProfile(resolved!, nexto.profile, { deviceName: nexto.name });
        expect(predicted).toEqual([
          expect.objectContaining({
            code: "DEVICE_UNSUPPORTED",
            severity: "error",
            path: "security.minTlsVersion",
            message: expect.stringMatching(/Altus Nexto speaks TLSv1\.2 only.*TLS_VERSION_MISMATCH/),
          }),
        ]);
        // A general-purpose client gets through: the broker is fine, the PLC is not.
        expect((await probe(config, { baseDir: pki.dir })).connected).toBe(true);
        const failure = await simulateDevice(nexto, config, { baseDir: pki.dir }).catch(
          (error: unknown) => error,
        );
        expect(isMqttTlsError(failure) && failure.code).toBe("TLS_VERSION_MISMATCH");
        // The report leads with what to change (the broker's minimum version for this PLC), the live code under it.
        expect(isMqttTlsError(failure) && failure.findings.map((f) => [f.code, f.causedBy])).toEqual([
          ["DEVICE_UNSUPPORTED", undefined],
          ["TLS_VERSION_MISMATCH", "DEVICE_UNSUPPORTED"],
        ]);
      },
    );
  }

  it("refuses an Ed25519 client key before connecting, as MasterTool would (an assumed fact, so only a warning)", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const leaf = await pki.issueClient({ name: "plc-ed25519", keyType: "ed25519" });
    const config = {
      ...mutual(broker.url),
      security: {
        ...mutual(broker.url).security,
        keyStore: { certificate: leaf.files.chain, privateKey: leaf.files.key },
      },
    };
    const { findings } = validateForDevice(config, nexto, { baseDir: pki.dir });
    // No error: the report leads with the key the device would refuse.
    expect(findings.find((f) => f.severity === "error")).toBeUndefined();
    expect(findings[0]).toMatchObject({
      code: "DEVICE_UNSUPPORTED",
      severity: "warning",
      path: "security.keyStore.privateKey",
      message: expect.stringMatching(/Ed25519.*RSA 2048-4096 bits.*assumed/),
    });
    const failure = await simulateDevice(nexto, config, { baseDir: pki.dir }).catch(
      (error: unknown) => error,
    );
    expect(isAdapterError(failure) && failure.code).toBe("DEVICE_UNSUPPORTED");
    expect((failure as { findings: unknown[] }).findings[0]).toMatchObject({
      code: "DEVICE_UNSUPPORTED",
      path: "security.keyStore.privateKey",
    });
    expect(broker.connections).toHaveLength(0);
    expect(broker.handshakeFailures).toHaveLength(0);
  });

  it.skipIf(mosquittoSkipReason())(
    "writes ca.crt, client.crt and client.key (0600) that a Mosquitto broker accepts",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "nexto-files-"));
      try {
        const { resolved } = validateConfig(mutual("mqtts://127.0.0.1:8883"), { baseDir: pki.dir });
        const files = await nexto.toDeviceFiles(resolved!, dir);
        expect(files.map((f) => [f.path.slice(dir.length + 1), f.role])).toEqual([
          ["ca.crt", "trust-store"],
          ["client.crt", "certificate"],
          ["client.key", "private-key"],
        ]);
        expect((await stat(join(dir, "client.key"))).mode & 0o777).toBe(0o600);
        // The client chain carries the intermediate, so a broker that trusts only the root accepts it.
        expect((await readFile(join(dir, "client.crt"), "utf8")).match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
        await using mosquitto = await startMosquitto({ pki, requireCertificate: true });
        const result = await probe(
          {
            broker: { url: mosquitto.url },
            security: {
              trustStore: ["ca.crt"],
              sendClientCertificate: true,
              keyStore: { certificate: "client.crt", privateKey: "client.key" },
              minTlsVersion: "TLSv1.2",
              maxTlsVersion: "TLSv1.2",
            },
          },
          { baseDir: dir },
        );
        expect(result).toMatchObject({ connected: true, tlsInfo: { protocol: "TLSv1.2" } });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
