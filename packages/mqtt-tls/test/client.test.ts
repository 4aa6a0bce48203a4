import {
  createTestPki,
  mosquittoSkipReason,
  startMosquitto,
  startTestBroker,
  type TestLeaf,
  type TestPki,
} from "@proj/test-broker";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backoffDelay, connectSecure, isMqttTlsError, type SecureClient } from "../src/index.js";

const run = promisify(execFile);

let pki: TestPki;
let other: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "mqtt-tls-client", intermediate: true });
  other = await createTestPki({ name: "mqtt-tls-client-other" });
});
afterAll(async () => {
  await pki.cleanup();
  await other.cleanup();
});

type Kind = "aedes" | "mosquitto";

async function start(kind: Kind) {
  if (kind === "aedes") {
    const broker = await startTestBroker({ pki, requireClientCert: true });
    return { url: broker.url, [Symbol.asyncDispose]: () => broker.close() };
  }
  const mosquitto = await startMosquitto({ pki, requireCertificate: true });
  return { url: mosquitto.url, [Symbol.asyncDispose]: () => mosquitto.close() };
}

const config = (
  url: string | string[],
  leaf: TestLeaf = pki.client,
  clientId = "line1-plc",
  extra: Record<string, unknown> = {},
) => ({
  broker: { url, clientId, connectTimeoutMs: 4000 },
  security: {
    trustStore: [pki.caFile],
    sendClientCertificate: true,
    keyStore: { certificate: leaf.files.chain, privateKey: leaf.files.key },
    ...extra,
  },
});

const options = { baseDir: "/", backoff: { minMs: 50, maxMs: 400 } };

function nextMessage(client: SecureClient): Promise<[string, string]> {
  return new Promise((resolve) =>
    client.once("message", (topic, payload) => resolve([topic, payload.toString()])),
  );
}

/** Cuts the connection under the client and resolves once it has noticed (state `reconnecting`). */
async function dropConnection(client: SecureClient): Promise<void> {
  const noticed = waitForState(client, "reconnecting");
  (client.mqtt.stream as Duplex).destroy();
  await noticed;
}

function waitForState(client: SecureClient, state: string): Promise<void> {
  return new Promise((resolve) => {
    if (client.state === state) return resolve();
    const on = (s: string) => {
      if (s === state) {
        client.off("state", on);
        resolve();
      }
    };
    client.on("state", on);
  });
}

function suite(kind: Kind): void {
  describe(`SecureClient against ${kind}`, () => {
    it("connects with mutual TLS, round-trips a QoS 1 message and reports the TLS session", async () => {
      await using broker = await start(kind);
      await using client = await connectSecure(config(broker.url), options);
      expect(client.state).toBe("connected");
      expect(client.tlsInfo).toMatchObject({ protocol: "TLSv1.3", sessionReused: false });
      expect(client.tlsInfo!.peerChain[0]!.subject).toBe(pki.server.subject);
      await client.subscribe("plant/line1/#");
      const received = nextMessage(client);
      await client.publish("plant/line1/level", "72.4", { qos: 1 });
      expect(await received).toEqual(["plant/line1/level", "72.4"]);
      await client.end();
      expect(client.state).toBe("closed");
    });

    it("settles the first connection with the diagnosis when the broker refuses the client certificate (TLS 1.3)", async () => {
      await using broker = await start(kind);
      const started = Date.now();
      const failure = await connectSecure(config(broker.url, other.client, "rogue"), options).catch(
        (error: unknown) => error,
      );
      expect(isMqttTlsError(failure)).toBe(true);
      expect(failure).toMatchObject({ code: "CLIENT_CERT_REJECTED" });
      expect(Date.now() - started).toBeLessThan(8000);
    });

    it("resumes the TLS session when it reconnects, and loses no QoS 1 message published meanwhile", async () => {
      await using broker = await start(kind);
      await using subscriber = await connectSecure(config(broker.url, pki.client, "scada"), options);
      await subscriber.subscribe("plant/#", { qos: 1 });
      const received = new Set<string>();
      subscriber.on("message", (_topic, payload) => received.add(payload.toString()));

      await using publisher = await connectSecure(config(broker.url, pki.client, "plc"), options);
      const states: string[] = [];
      publisher.on("state", (state) => states.push(state));
      const dropped = dropConnection(publisher);
      const sent = Array.from({ length: 50 }, (_, i) =>
        publisher.publish("plant/reading", `m${i}`, { qos: 1 }),
      );
      await dropped;
      await waitForState(publisher, "connected");
      await Promise.all(sent);
      expect(states.slice(0, 2)).toEqual(["reconnecting", "connected"]);
      expect(publisher.tlsInfo!.sessionReused).toBe(true);
      expect(publisher.tlsInfo!.peerChain[0]!.subject).toBe(pki.server.subject);
      await expect.poll(() => received.size, { timeout: 5000 }).toBe(50);
    });
  });
}

suite("aedes");
describe.skipIf(mosquittoSkipReason())("Eclipse Mosquitto", () => suite("mosquitto"));

describe.skipIf(mosquittoSkipReason())("MQTT 5 (Mosquitto; aedes speaks 3.1.1 only)", () => {
  it("connects with MQTT 5 over mutual TLS and round-trips a message", async () => {
    await using pki5 = await createTestPki({ name: "mqtt-tls-v5" });
    await using mosquitto = await startMosquitto({ pki: pki5, requireCertificate: true });
    const v5 = {
      broker: { url: mosquitto.url, clientId: "v5-plc", protocolVersion: 5 },
      security: {
        trustStore: [pki5.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: pki5.client.files.chain, privateKey: pki5.client.files.key },
      },
    };
    await using client = await connectSecure(v5, options);
    expect(client.mqtt.options.protocolVersion).toBe(5);
    await client.subscribe("v5/#");
    const received = nextMessage(client);
    await client.publish("v5/hello", "from MQTT 5", { qos: 1 });
    expect(await received).toEqual(["v5/hello", "from MQTT 5"]);
  });
});

describe("connectSecure", () => {
  it("leaves nothing running after a refused first connect: the process ends by itself", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const fixture = fileURLToPath(new URL("fixtures/refused-first-connect.ts", import.meta.url));
    // A leftover reconnect timer kept a CLI process alive for the maximum backoff (30 s) after the error.
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "--conditions=@proj/source", fixture, broker.url, pki.caFile],
      { timeout: 15_000, cwd: fileURLToPath(new URL("..", import.meta.url)) },
    );
    // No client certificate is configured: that setting is the cause the report leads with.
    expect(stdout.trim()).toBe("rejected CLIENT_CERT_REQUIRED: CLIENT_CERT_DISABLED, CLIENT_CERT_REQUIRED");
  });

  it("refuses a configuration with errors, listing them", async () => {
    const failure = await connectSecure({ broker: { url: "mqtt://localhost:1883" }, security: {} }).catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ name: "MqttTlsError", code: "CONFIG_INVALID" });
    expect((failure as { findings: { code: string }[] }).findings.map((f) => f.code)).toEqual([
      "URL_SCHEME_MISMATCH",
      "TRUST_STORE_MISSING",
    ]);
  });

  it("forwards every TLS option over wss: server name, client certificate", async () => {
    const elsewhere = await pki.issueServer({ wrongName: true });
    await using broker = await startTestBroker({
      pki,
      wss: true,
      requireClientCert: true,
      serverCertificate: elsewhere,
    });
    await using client = await connectSecure(
      config(broker.wssUrl!, pki.client, "ws-plc", { serverName: "wrong.example" }),
      options,
    );
    expect(client.state).toBe("connected");
    expect((await broker.waitForClient("ws-plc")).listener).toBe("wss");
  });

  it("fails over to the next broker URL", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const deadPort = (closed.address() as AddressInfo).port;
    closed.close();
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const client = await connectSecure(config([`mqtts://127.0.0.1:${deadPort}`, broker.url]), {
      ...options,
      retryFirstConnect: true,
    });
    expect(client.state).toBe("connected");
    expect((await broker.waitForClient("line1-plc")).listener).toBe("tls");
    await client.end();
  });
});

describe("rotation and expiry", () => {
  it("uses rotated credentials on the next handshake without dropping queued messages", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const leaf = await pki.issueClient({ name: "rotating-plc", keySlot: "rotation-1" });
    const certFile = await leaf.writeFile("rotating-chain.pem", leaf.chain);
    const keyFile = await leaf.writeFile("rotating.key", leaf.key);
    const rotatingConfig = {
      broker: { url: broker.url, clientId: "rotating-plc" },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: certFile, privateKey: keyFile },
      },
    };
    await using client = await connectSecure(rotatingConfig, options);
    expect((await broker.waitForClient("rotating-plc")).certificate!.serial).toBe(leaf.serial);

    const renewed = await pki.issueClient({ name: "rotating-plc", keySlot: "rotation-2" });
    await renewed.writeFile("rotating-chain.pem", renewed.chain);
    await renewed.writeFile("rotating.key", renewed.key);
    expect(await client.reloadCredentials()).toMatchObject({ ok: true });
    await dropConnection(client);
    const queued = client.publish("plant/after-rotation", "still delivered", { qos: 1 });
    await waitForState(client, "connected");
    await queued;
    const serials = broker.connections
      .filter((c) => c.clientId === "rotating-plc")
      .map((c) => c.certificate!.serial);
    expect(serials).toEqual([leaf.serial, renewed.serial]);
  });

  it("watches the credential files and reloads them when they change", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const leaf = await pki.issueClient({ name: "watched-plc", keySlot: "watch-1" });
    const certFile = await leaf.writeFile("watched-chain.pem", leaf.chain);
    const keyFile = await leaf.writeFile("watched.key", leaf.key);
    const watchedConfig = {
      broker: { url: broker.url, clientId: "watched-plc" },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: certFile, privateKey: keyFile },
      },
    };
    const events: string[] = [];
    await using client = await connectSecure(watchedConfig, {
      ...options,
      watchCredentials: true,
      securityEvents: (e) => void events.push(e.mnemonic),
    });

    const renewed = await pki.issueClient({ name: "watched-plc", keySlot: "watch-2" });
    await renewed.writeFile("watched.key", renewed.key);
    await renewed.writeFile("watched-chain.pem", renewed.chain);
    await expect.poll(() => events, { timeout: 5000 }).toContain("CREDENTIALS_RELOADED");
    await dropConnection(client);
    await waitForState(client, "connected");
    const serials = broker.connections
      .filter((c) => c.clientId === "watched-plc")
      .map((c) => c.certificate!.serial);
    expect(serials).toEqual([leaf.serial, renewed.serial]);
  });

  it("keeps the old credentials when the new files do not validate", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const leaf = await pki.issueClient({ name: "careful-plc" });
    const keyFile = await leaf.writeFile("careful.key", leaf.key);
    await using client = await connectSecure(
      config(broker.url, leaf, "careful-plc", {
        keyStore: { certificate: leaf.files.chain, privateKey: keyFile },
      }),
      options,
    );
    await leaf.writeFile("careful.key", "not a key");
    const reload = await client.reloadCredentials();
    expect(reload.ok).toBe(false);
    expect(reload.findings.map((f) => f.code)).toContain("NOT_PEM");
    // The report leads with the file to fix.
    expect(reload.findings.find((f) => f.severity === "error")).toMatchObject({
      code: "NOT_PEM",
      path: "security.keyStore.privateKey",
    });
    await dropConnection(client);
    await waitForState(client, "connected");
    expect((await broker.waitForClient("careful-plc")).certificate!.serial).toBe(leaf.serial);
    expect(broker.connections.filter((c) => c.clientId === "careful-plc")).toHaveLength(2);
  });

  it("warns that the client's and the broker's certificates expire soon, on connect", async () => {
    await using broker = await startTestBroker({
      pki,
      requireClientCert: true,
      serverCertificate: await pki.issueServer({ days: 5 }),
    });
    const leaf = await pki.issueClient({ name: "short-lived", days: 3 });
    const warnings: string[] = [];
    const client = await connectSecure(config(broker.url, leaf, "short-lived"), options);
    client.on("diagnosis", (f) => warnings.push(`${f.severity}:${f.code}:${f.message.split(" expires")[0]}`));
    await dropConnection(client);
    await waitForState(client, "connected");
    expect(warnings).toEqual([
      `warning:CERT_EXPIRES_SOON:The client certificate "${leaf.subject}"`,
      `warning:CERT_EXPIRES_SOON:The broker's certificate "CN=localhost, O=mqtt-tls test server"`,
    ]);
    await client.end();
  });
});

describe("backoffDelay", () => {
  it("grows exponentially with full jitter and stays within its bounds", () => {
    const bounds = { minMs: 100, maxMs: 5000 };
    for (let attempt = 0; attempt < 12; attempt++) {
      const upper = Math.min(5000, 100 * 2 ** attempt);
      expect(backoffDelay(attempt, bounds, () => 0)).toBe(50);
      expect(backoffDelay(attempt, bounds, () => 1)).toBe(upper);
    }
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(6, bounds)));
    expect(spread.size).toBeGreaterThan(10);
  });
});
