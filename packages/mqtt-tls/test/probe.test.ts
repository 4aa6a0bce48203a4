import {
  createTestPki,
  mosquittoSkipReason,
  startMosquitto,
  startTestBroker,
  type TestCrl,
  type TestLeaf,
  type TestPki,
} from "@proj/test-broker";
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probe } from "../src/index.js";

/**
 * The live-diagnosis matrix: each scenario against the embedded aedes broker and against a real Mosquitto, each
 * ending in its code within the deadline (mqtt.js alone never settles on some of them).
 */
type Kind = "aedes" | "mosquitto";

interface BrokerOptions {
  requireClientCert?: boolean;
  serverCertificate?: TestLeaf;
  crl?: TestCrl;
  minVersion?: "TLSv1.2" | "TLSv1.3";
  plain?: boolean;
  refuseAnonymous?: boolean;
  /** TLS 1.2 cipher list of the broker. */
  ciphers?: string;
}

interface Running extends AsyncDisposable {
  url: string;
  plainUrl: string | undefined;
}

let pki: TestPki;
let other: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "mqtt-tls-probe", intermediate: true });
  other = await createTestPki({ name: "mqtt-tls-probe-other" });
});
afterAll(async () => {
  await pki.cleanup();
  await other.cleanup();
});

async function start(kind: Kind, options: BrokerOptions = {}): Promise<Running> {
  if (kind === "aedes") {
    const broker = await startTestBroker({
      pki,
      requireClientCert: options.requireClientCert ?? false,
      plain: options.plain ?? false,
      ...(options.serverCertificate ? { serverCertificate: options.serverCertificate } : {}),
      ...(options.crl ? { crl: [options.crl, await pki.createCrl({ issuer: "root" })] } : {}),
      ...(options.minVersion ? { minVersion: options.minVersion } : {}),
      ...(options.refuseAnonymous ? { users: { plc: "right-password" } } : {}),
      ...(options.ciphers ? { ciphers: options.ciphers } : {}),
    });
    return { url: broker.url, plainUrl: broker.plainUrl, [Symbol.asyncDispose]: () => broker.close() };
  }
  const mosquitto = await startMosquitto({
    pki,
    requireCertificate: options.requireClientCert ?? false,
    plain: options.plain ?? false,
    ...(options.serverCertificate ? { serverCertificate: options.serverCertificate } : {}),
    ...(options.crl ? { crl: options.crl } : {}),
    ...(options.minVersion ? { tlsVersion: options.minVersion === "TLSv1.3" ? "tlsv1.3" : "tlsv1.2" } : {}),
    ...(options.refuseAnonymous ? { allowAnonymous: false } : {}),
    ...(options.ciphers ? { ciphers: options.ciphers } : {}),
  });
  return { url: mosquitto.url, plainUrl: mosquitto.plainUrl, [Symbol.asyncDispose]: () => mosquitto.close() };
}

const mutual = (leaf: TestLeaf = pki.client) => ({
  trustStore: [pki.caFile],
  sendClientCertificate: true,
  keyStore: { certificate: leaf.files.chain, privateKey: leaf.files.key },
});

async function expectCode(config: unknown, code: string, message?: RegExp) {
  const result = await probe(config, { baseDir: pki.dir, timeoutMs: 4000 });
  expect(result.connected).toBe(false);
  expect(result.findings.map((f) => f.code)).toEqual([code]);
  if (message) expect(result.findings[0]!.message).toMatch(message);
  expect(result.findings[0]!.remedy).toBeTruthy();
  expect(result.elapsedMs).toBeLessThan(4000 + 3500);
  return result;
}

function matrix(kind: Kind): void {
  describe(`probe against ${kind}`, () => {
    it.each(["TLSv1.2", "TLSv1.3"] as const)(
      "connects with mutual TLS on %s and reports what was negotiated",
      async (version) => {
        await using broker = await start(kind, { requireClientCert: true });
        const result = await probe(
          {
            broker: { url: broker.url },
            security: { ...mutual(), minTlsVersion: version, maxTlsVersion: version },
          },
          { baseDir: pki.dir },
        );
        expect(result).toMatchObject({ connected: true, findings: [] });
        expect(result.tlsInfo!.protocol).toBe(version);
        expect(result.tlsInfo!.peerChain.map((c) => c.subject)).toEqual(
          expect.arrayContaining([pki.server.subject, pki.intermediate!.subject]),
        );
      },
    );

    it.each(["rsa2048", "ec-p384", "ed25519"] as const)(
      "connects to a broker whose certificate has a %s key",
      async (keyType) => {
        await using broker = await start(kind, {
          serverCertificate: await pki.issueServer({ keyType, keySlot: `server-${keyType}` }),
        });
        const result = await probe(
          { broker: { url: broker.url }, security: { trustStore: [pki.caFile] } },
          { baseDir: pki.dir },
        );
        expect(result.connected).toBe(true);
      },
    );

    it.each(["rsa2048", "ed25519"] as const)("connects with %s client keys", async (keyType) => {
      await using broker = await start(kind, { requireClientCert: true });
      const leaf = await pki.issueClient({ name: `plc-${keyType}`, keyType });
      expect(
        (await probe({ broker: { url: broker.url }, security: mutual(leaf) }, { baseDir: pki.dir }))
          .connected,
      ).toBe(true);
    });

    it("names a wrong CA and a missing one apart", async () => {
      await using broker = await start(kind);
      await expectCode(
        { broker: { url: broker.url }, security: { trustStore: [other.caFile] } },
        "SERVER_CERT_UNTRUSTED",
        /does not hold.*the wrong CA/,
      );
      await expectCode(
        { broker: { url: broker.url }, security: {} },
        "SERVER_CERT_UNTRUSTED",
        /trust store is missing or empty/,
      );
    });

    it("names an expired server certificate and a wrong name, and accepts serverName for an IP host", async () => {
      {
        await using broker = await start(kind, {
          serverCertificate: await pki.issueServer({ expired: true }),
        });
        await expectCode(
          { broker: { url: broker.url }, security: { trustStore: [pki.caFile] } },
          "SERVER_CERT_EXPIRED",
          /expired on/,
        );
      }
      await using broker = await start(kind, {
        serverCertificate: await pki.issueServer({ wrongName: true }),
      });
      const result = await expectCode(
        { broker: { url: broker.url }, security: { trustStore: [pki.caFile] } },
        "SERVER_NAME_MISMATCH",
        /names wrong\.example, not 127\.0\.0\.1/,
      );
      expect(result.findings[0]!.remedy).toContain('"serverName": "wrong.example"');
      const named = await probe(
        { broker: { url: broker.url }, security: { trustStore: [pki.caFile], serverName: "wrong.example" } },
        { baseDir: pki.dir },
      );
      expect(named.connected).toBe(true);
    });

    it("names a missing client certificate, one from another CA, an expired and a revoked one", async () => {
      {
        await using broker = await start(kind, { requireClientCert: true });
        await expectCode(
          { broker: { url: broker.url }, security: { trustStore: [pki.caFile] } },
          "CLIENT_CERT_REQUIRED",
        );
        await expectCode(
          { broker: { url: broker.url }, security: mutual(other.client) },
          "CLIENT_CERT_REJECTED",
        );
        await expectCode(
          {
            broker: { url: broker.url },
            security: mutual(await pki.issueClient({ name: "old-plc", expired: true })),
          },
          "CLIENT_CERT_REJECTED",
          /expired/,
        );
      }
      const stolen = await pki.issueClient({ name: "stolen-plc" });
      await using broker = await start(kind, {
        requireClientCert: true,
        crl: await pki.createCrl({ revoke: [stolen] }),
      });
      // Mosquitto says it with a TLS alert, the dev broker with a CONNACK reason (asked again in MQTT 5).
      await expectCode(
        { broker: { url: broker.url }, security: mutual(stolen) },
        "CLIENT_CERT_REVOKED",
        /revoked/,
      );
    });

    it("names a TLS 1.2-only client against a TLS 1.3-only broker", async () => {
      await using broker = await start(kind, { minVersion: "TLSv1.3" });
      await expectCode(
        { broker: { url: broker.url }, security: { trustStore: [pki.caFile], maxTlsVersion: "TLSv1.2" } },
        "TLS_VERSION_MISMATCH",
      );
    });

    it("names TLS spoken to a plain port, and plain MQTT spoken to a TLS port", async () => {
      await using broker = await start(kind, { plain: true });
      const plainPort = new URL(broker.plainUrl!).port;
      await expectCode(
        { broker: { url: `mqtts://127.0.0.1:${plainPort}` }, security: { trustStore: [pki.caFile] } },
        "NOT_TLS",
      );
      await expectCode(
        { broker: { url: broker.url.replace("mqtts:", "mqtt:") }, security: { enableTls: false } },
        "TLS_EXPECTED",
      );
    });

    it("names a broker certificate revoked by the configured CRL", async () => {
      const revokedServer = await pki.issueServer({ name: "localhost", keySlot: "revoked-server" });
      await using broker = await start(kind, { serverCertificate: revokedServer });
      const intermediateCrl = await pki.createCrl({ revoke: [revokedServer] });
      const rootCrl = await pki.createCrl({ issuer: "root" });
      await expectCode(
        {
          broker: { url: broker.url },
          security: { trustStore: [pki.caFile], crl: [intermediateCrl.file, rootCrl.file] },
        },
        "SERVER_CERT_REVOKED",
      );
      // The same CRLs let a broker whose certificate is not listed through.
      await using good = await start(kind);
      const result = await probe(
        {
          broker: { url: good.url },
          security: { trustStore: [pki.caFile], crl: [intermediateCrl.file, rootCrl.file] },
        },
        { baseDir: pki.dir },
      );
      expect(result.connected).toBe(true);
    });

    it("names the CA whose CRL is missing instead of blaming the broker (Node checks every CA of the chain)", async () => {
      await using broker = await start(kind);
      const intermediateCrl = await pki.createCrl();
      const rootCrl = await pki.createCrl({ issuer: "root" });
      // Only the issuing CA's CRL: the configuration already says the root's is missing.
      const onlyIntermediate = await probe(
        { broker: { url: broker.url }, security: { trustStore: [pki.caFile], crl: [intermediateCrl.file] } },
        { baseDir: pki.dir, timeoutMs: 4000 },
      );
      expect(onlyIntermediate.connected).toBe(false);
      expect(onlyIntermediate.findings[0]).toMatchObject({ code: "CRL_INCOMPLETE", severity: "error" });
      expect(onlyIntermediate.findings[0]!.message).toContain(pki.root.subject.split(", ")[0]!.slice(3));
      // Only the root's: nothing in the configuration tells, the handshake does, and the intermediate is named.
      const onlyRoot = await expectCode(
        { broker: { url: broker.url }, security: { trustStore: [pki.caFile], crl: [rootCrl.file] } },
        "CRL_INCOMPLETE",
        /no CRL from "CN=mqtt-tls-probe Intermediate CA/,
      );
      expect(onlyRoot.findings[0]!.message).toMatch(/not at fault/);
    });

    it("names a cipher suite the broker does not offer", async () => {
      await using broker = await start(kind, { ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" });
      await expectCode(
        {
          broker: { url: broker.url },
          security: {
            trustStore: [pki.caFile],
            maxTlsVersion: "TLSv1.2",
            ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384",
          },
        },
        "CIPHER_MISMATCH",
      );
    });

    it("names a pin mismatch and refused credentials", async () => {
      await using broker = await start(kind, { refuseAnonymous: true });
      await expectCode(
        {
          broker: { url: broker.url },
          security: { trustStore: [pki.caFile], pinnedCertificates: [other.server.spkiPin] },
        },
        "PINNED_CERT_MISMATCH",
      );
      await expectCode(
        {
          broker: { url: broker.url, username: "plc", password: "wrong" },
          security: { trustStore: [pki.caFile] },
        },
        "MQTT_CONNECT_REFUSED",
      );
    });

    it("tells which broker it is from its $SYS version, and that it grants QoS 2", async () => {
      await using broker = await start(kind, {});
      const config = { broker: { url: broker.url }, security: { trustStore: [pki.caFile] } };
      const result = await probe(config, { identify: true });
      expect(result).toMatchObject({ connected: true, findings: [], broker: { kind, maxQos: 2 } });
      // Only when asked: a plain probe sends nothing after CONNACK.
      expect((await probe(config)).broker).toBeUndefined();
      expect(result.broker!.version).toMatch(new RegExp(`^${kind} version \\d`));
    });

    it("settles, never throws, for a password without a username under MQTT 3.1.1", async () => {
      await using broker = await start(kind, { refuseAnonymous: true });
      const result = await probe({
        broker: { url: broker.url, password: "alone", protocolVersion: 4 },
        security: { trustStore: [pki.caFile] },
      });
      expect(result.connected).toBe(false);
      expect(JSON.stringify(result.findings)).not.toContain("alone");
    });
  });
}

matrix("aedes");

describe("broker-specific refusals (dev broker)", () => {
  it("names an MQTT 5 CONNECT answered 'unsupported protocol version' MQTT_VERSION_UNSUPPORTED", async () => {
    await using broker = await start("aedes", { requireClientCert: true });
    const result = await expectCode(
      { broker: { url: broker.url, protocolVersion: 5 }, security: mutual() },
      "MQTT_VERSION_UNSUPPORTED",
      /does not speak MQTT 5: it answered the MQTT 5 CONNECT with "unsupported protocol version" \(CONNACK 1\)/,
    );
    expect(result.findings[0]!.remedy).toContain('"protocolVersion": 4');
  });

  it("names a certificate the broker accepts in TLS but no user behind it CLIENT_IDENTITY_UNKNOWN", async () => {
    // A broker that logs clients in by name refuses one that sends a certificate and no username.
    await using broker = await startTestBroker({ pki, requireClientCert: true, users: { plc: "pw" } });
    const result = await expectCode(
      { broker: { url: broker.url }, security: mutual() },
      "CLIENT_IDENTITY_UNKNOWN",
      /no username was sent: .*has no user "client"/,
    );
    expect(result.findings[0]!.remedy).toContain("rabbitmqctl add_user 'client'");
    expect(result.findings[0]!.remedy).toContain('set "username" and "password"');
  });
});
describe.skipIf(mosquittoSkipReason())("Eclipse Mosquitto", () => matrix("mosquitto"));

describe("probe without a broker", () => {
  it("names a closed port and a silent server, within the deadline", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await expectCode(
      { broker: { url: `mqtts://127.0.0.1:${port}` }, security: { trustStore: [pki.caFile] } },
      "BROKER_UNREACHABLE",
      /nothing listens/,
    );

    const silent = createServer(() => undefined);
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    const silentPort = (silent.address() as AddressInfo).port;
    const result = await probe(
      { broker: { url: `mqtts://127.0.0.1:${silentPort}` }, security: { trustStore: [pki.caFile] } },
      { baseDir: pki.dir, timeoutMs: 800 },
    );
    expect(result.findings.map((f) => f.code)).toEqual(["CONNECT_TIMEOUT"]);
    expect(result.findings[0]!.message).toMatch(/accepted TCP but did not answer the TLS handshake/);
    expect(result.elapsedMs).toBeLessThan(800 + 3500);
    silent.close();
  });
});

describe("probe over WebSocket (wss://)", () => {
  it("connects, names a wrong CA and a missing client certificate like mqtts://", async () => {
    await using broker = await startTestBroker({ pki, wss: true, requireClientCert: true });
    const ok = await probe({ broker: { url: broker.wssUrl! }, security: mutual() }, { baseDir: pki.dir });
    expect(ok).toMatchObject({ connected: true, findings: [] });
    expect(ok.tlsInfo!.protocol).toBe("TLSv1.3");
    await expectCode(
      { broker: { url: broker.wssUrl! }, security: { ...mutual(), trustStore: [other.caFile] } },
      "SERVER_CERT_UNTRUSTED",
    );
    await expectCode(
      { broker: { url: broker.wssUrl! }, security: { trustStore: [pki.caFile] } },
      "CLIENT_CERT_REQUIRED",
    );
  });

  it("names an HTTPS server that refuses the WebSocket upgrade at that path", async () => {
    const { createServer: createHttpsServer } = await import("node:https");
    const server = createHttpsServer({ cert: pki.server.chain, key: pki.server.key }, (_request, response) =>
      response.writeHead(404).end(),
    );
    server.on("upgrade", (_request, socket) =>
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    try {
      await expectCode(
        { broker: { url: `wss://127.0.0.1:${port}/wrong-path` }, security: { trustStore: [pki.caFile] } },
        "BROKER_UNREACHABLE",
        /answered HTTP 404 to the WebSocket upgrade at \/wrong-path/,
      );
    } finally {
      server.close();
    }
  });
});
