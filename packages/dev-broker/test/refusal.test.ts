import mqtt, { type IClientOptions } from "mqtt";
import { stat } from "node:fs/promises";
import { connect as tlsConnect } from "node:tls";
import { createTestPki } from "@proj/pki";
import { describe, expect, it } from "vitest";
import { startDevBroker } from "../src/index.js";

interface Attempt {
  connected: boolean;
  error?: Error & { code?: number };
  /** The CONNACK's reason string (MQTT 5), which mqtt.js leaves out of its error. */
  reasonString?: string;
}

/** Connects once without retrying; resolves with what the broker answered. */
function attempt(url: string, options: IClientOptions): Promise<Attempt> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    let reasonString: string | undefined;
    client.on("packetreceive", (packet) => {
      if (packet.cmd === "connack") reasonString = packet.properties?.reasonString;
    });
    client.once("connect", () => {
      client.end(true);
      resolve({ connected: true });
    });
    client.once("error", (error) => {
      client.end(true);
      resolve({ connected: false, error, ...(reasonString === undefined ? {} : { reasonString }) });
    });
    client.once("close", () => resolve({ connected: false }));
  });
}

describe("startDevBroker", () => {
  it("runs with nothing given: its own PKI, loopback, mutual TLS, and cleans up after itself", async () => {
    let dir: string;
    {
      await using broker = await startDevBroker({ requireClientCert: true });
      expect(broker.host).toBe("127.0.0.1");
      const pki = broker.testPki!;
      dir = pki.dir;
      const result = await attempt(broker.url, {
        ca: pki.caPem,
        cert: pki.client.chain,
        key: pki.client.key,
        clientId: "plc1",
      });
      expect(result).toEqual({ connected: true });
      expect((await broker.waitForClient("plc1")).certificate?.subjectCn).toBe("client");
    }
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
  });

  it("answers an expired client certificate with CONNACK 'not authorized' (MQTT 3.1.1), not a bare close", async () => {
    await using pki = await createTestPki();
    await using broker = await startDevBroker({ pki, requireClientCert: true });
    const expired = await pki.issueClient({ name: "old-plc", expired: true });
    const result = await attempt(broker.url, {
      ca: pki.caPem,
      cert: expired.chain,
      key: expired.key,
      protocolVersion: 4,
    });
    expect(result.connected).toBe(false);
    expect(result.error?.code).toBe(5);
    expect(result.error?.message).toMatch(/Not authorized/i);
    expect(broker.handshakeFailures.map((f) => f.code)).toEqual(["CERT_HAS_EXPIRED"]);
    expect(broker.connections).toEqual([]);
  });

  it("gives an MQTT 5 client the reason: reason code 0x87 and the verification error as reason string", async () => {
    await using pki = await createTestPki();
    const revoked = await pki.issueClient({ name: "stolen-plc" });
    const crl = await pki.createCrl({ revoke: [revoked] });
    await using broker = await startDevBroker({ pki, requireClientCert: true, crl });
    const result = await attempt(broker.url, {
      ca: pki.caPem,
      cert: revoked.chain,
      key: revoked.key,
      protocolVersion: 5,
    });
    expect(result.error?.code).toBe(0x87);
    expect(result.reasonString).toBe("client certificate refused: CERT_REVOKED");
  });

  it("tells a client that sent no certificate so, and closes one that never sends CONNECT", async () => {
    await using pki = await createTestPki();
    await using broker = await startDevBroker({ pki, requireClientCert: true, handshakeTimeoutMs: 300 });
    const none = await attempt(broker.url, { ca: pki.caPem, protocolVersion: 5 });
    expect(none.reasonString).toBe("client sent no certificate");

    const silent = tlsConnect({
      host: "127.0.0.1",
      port: broker.port,
      ca: pki.caPem,
      servername: "localhost",
    });
    silent.on("error", () => undefined);
    const closedAfter = await new Promise<number>((resolve) => {
      const started = Date.now();
      silent.once("close", () => resolve(Date.now() - started));
    });
    expect(closedAfter).toBeLessThan(5000);
    expect(broker.handshakeFailures.map((f) => f.code)).toEqual([
      "NO_CLIENT_CERTIFICATE",
      "NO_CLIENT_CERTIFICATE",
    ]);
  });

  it("refuses a WebSocket client's certificate at the upgrade with 403 and the reason", async () => {
    await using pki = await createTestPki();
    await using broker = await startDevBroker({ pki, requireClientCert: true, wss: true });
    const expired = await pki.issueClient({ name: "old-hmi", expired: true });
    const status = await new Promise<{ code: number | undefined; body: string }>((resolve, reject) => {
      const socket = tlsConnect(
        {
          host: "127.0.0.1",
          port: broker.wssPort!,
          ca: pki.caPem,
          cert: expired.chain,
          key: expired.key,
          servername: "localhost",
        },
        () =>
          socket.write(
            "GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n",
          ),
      );
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      socket.on("error", reject);
      socket.on("close", () => resolve({ code: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]), body: text }));
    });
    expect(status.code).toBe(403);
    expect(status.body).toMatch(/CERT_HAS_EXPIRED/);
  });
});
