import { createTestPki, startTestBroker, type TestPki } from "@proj/test-broker";
import { defineProfile, loadConfig } from "@proj/security-config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe } from "../src/index.js";

/**
 * One policy: the profile's limits reach the configuration's own files and the chain the broker presents alike.
 * An RSA 2048 PKI passes the baseline and fails a profile that asks for RSA 3072, statically and live.
 */
let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "mqtt-tls-policy", keyType: "rsa2048" });
});
afterAll(() => pki.cleanup());

const plant = defineProfile({
  id: "plant-rsa3072",
  extends: "baseline",
  parameters: { minRsaBits: 3072 },
  severities: { WEAK_KEY: "error" },
});

describe("a profile's policy", () => {
  it("flags a 2048-bit client key statically and the broker's 2048-bit chain live; the baseline passes both", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const config = {
      broker: { url: broker.url, clientId: "policy-plc" },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
      },
    };

    const strict = await loadConfig(config, { profile: plant });
    const staticWeak = strict.findings.filter((f) => f.code === "WEAK_KEY");
    expect(staticWeak.map((f) => f.path)).toContain("security.keyStore");
    expect(staticWeak.every((f) => f.severity === "error")).toBe(true);
    expect(staticWeak[0]!.message).toContain("at least 3072");
    expect(strict.findings.find((f) => f.severity === "error")).toMatchObject({ code: "WEAK_KEY" });

    const live = await probe(strict);
    expect(live.connected).toBe(true);
    expect(live.findings[0]).toMatchObject({
      code: "WEAK_KEY",
      severity: "error",
      path: "connection.serverChain",
    });
    const liveWeak = live.findings.filter((f) => f.code === "WEAK_KEY");
    expect(liveWeak.length).toBeGreaterThan(0);
    expect(liveWeak[0]).toMatchObject({ severity: "error", path: "connection.serverChain" });
    expect(liveWeak[0]!.message).toMatch(/RSA 2048 bits \(at least 3072 required\)/);

    const baseline = await loadConfig(config);
    expect(baseline.findings.filter((f) => f.code === "WEAK_KEY")).toEqual([]);
    const passed = await probe(baseline);
    expect(passed).toMatchObject({ connected: true, findings: [] });
  });
});
