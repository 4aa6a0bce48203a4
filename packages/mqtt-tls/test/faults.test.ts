import { createTestPki, startFaultProxy, startTestBroker, type TestPki } from "@proj/test-broker";
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSecure, isMqttTlsError, probe } from "../src/index.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "faults" });
});
afterAll(() => pki.cleanup());

const config = (url: string, broker: Record<string, unknown> = {}) => ({
  broker: { url, connectTimeoutMs: 2000, ...broker },
  security: {
    trustStore: [pki.caFile],
    sendClientCertificate: true,
    keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
  },
});

describe("faults on the path to the broker", () => {
  it("a stalled route ends in CONNECT_TIMEOUT at the deadline, never a hang", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    await using proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: broker.port } });
    proxy.inject({ kind: "stall" });
    const failure = await connectSecure(config(proxy.url("mqtts"))).catch((error: unknown) => error);
    expect(isMqttTlsError(failure) && failure.code).toBe("CONNECT_TIMEOUT");
    expect((failure as Error).message).toMatch(/2 s|2000 ms/);
  });

  it("a reset in the middle of the handshake is retried with backoff until it goes through", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    await using proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: broker.port } });
    proxy.inject({ kind: "reset", bytes: 200, direction: "to-client" }, 3); // ServerHello gets through, then RST
    await using client = await connectSecure(config(proxy.url("mqtts")), {
      retryFirstConnect: true,
      backoff: { minMs: 20, maxMs: 100 },
    });
    expect(client.state).toBe("connected");
    expect(proxy.accepted).toBe(4); // three resets, then the one that worked
    await client.publish("faults/after-reset", "ok", { qos: 1 });
  });

  it("corrupted bytes are diagnosed with a code and a remedy", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    await using proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: broker.port } });
    proxy.inject({ kind: "corrupt", offset: 60, direction: "to-client" }, 10);
    const result = await probe(config(proxy.url("mqtts")), { timeoutMs: 3000 });
    expect(result.connected).toBe(false);
    expect(result.findings).toEqual([
      expect.objectContaining({
        code: "BROKER_UNREACHABLE",
        message: expect.stringMatching(
          /TLS data from 127\.0\.0\.1:\d+ was damaged or not understood \(ERR_SSL_\w+\)/,
        ),
        remedy: expect.stringContaining("TLS-inspecting firewall"),
      }),
    ]);
  });

  it("a cut connection is reconnected, and what was queued meanwhile is delivered", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    await using proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: broker.port } });
    await using client = await connectSecure(config(proxy.url("mqtts"), { clientId: "cut-plc" }), {
      backoff: { minMs: 20, maxMs: 100 },
    });
    await using subscriber = await connectSecure(config(broker.url, { clientId: "cut-scada" }));
    const seen: string[] = [];
    subscriber.on("message", (_t, payload) => seen.push(payload.toString()));
    await subscriber.subscribe("faults/#", { qos: 1 });
    proxy.cutAll();
    const sent = Promise.all([1, 2, 3].map((i) => client.publish("faults/cut", `m${i}`, { qos: 1 })));
    await sent;
    await expect.poll(() => seen.sort(), { timeout: 5000 }).toEqual(["m1", "m2", "m3"]);
  });

  it("under IEC 62351-3 an unreachable CRL warns and keeps the session; a CRL that revokes the broker drops it", async () => {
    const served = await pki.issueServer({ name: "iec-broker" });
    await using broker = await startTestBroker({ pki, requireClientCert: true, serverCertificate: served });
    const crlFile = await pki.client.writeFile("iec-refresh.crl.pem", (await pki.createCrl()).pem);
    const events: string[] = [];
    const diagnoses: { code: string; severity: string }[] = [];
    await using client = await connectSecure(
      {
        ...config(broker.url, { clientId: "iec-plc" }),
        security: {
          ...config(broker.url).security,
          profile: "iec62351-3",
          crl: [crlFile],
          crlRefreshHours: 0.0002,
        },
      },
      { securityEvents: (e) => void events.push(e.mnemonic), backoff: { minMs: 50, maxMs: 200 } },
    );
    client.on("diagnosis", (f) => diagnoses.push({ code: f.code, severity: f.severity }));
    // The CRL distribution point is gone: a warning, and the session carries on.
    await rm(crlFile);
    await expect.poll(() => events, { timeout: 5000 }).toContain("CRL_STALE");
    expect(client.state).toBe("connected");
    await client.publish("iec/still-up", "1", { qos: 1 });
    // The CA revokes the broker's certificate: the refresh renews the session, and the broker is refused.
    await pki.client.writeFile("iec-refresh.crl.pem", (await pki.createCrl({ revoke: [served] })).pem);
    await expect.poll(() => diagnoses.map((d) => d.code), { timeout: 8000 }).toContain("SERVER_CERT_REVOKED");
    // The revocation is the first error the client reports, not a failure that follows from it.
    expect(diagnoses.find((d) => d.severity === "error")).toMatchObject({ code: "SERVER_CERT_REVOKED" });
    expect(client.state).not.toBe("connected");
    expect(events).toContain("PEER_CERT_REVOKED");
  });
});
