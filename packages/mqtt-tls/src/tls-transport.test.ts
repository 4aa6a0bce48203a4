import { loadConfig, type ResolvedConfig } from "@proj/security-config";
import { createTestPki, type TestPki } from "@proj/test-broker";
import { once } from "node:events";
import { createServer as createTcpServer, type AddressInfo, type Server } from "node:net";
import type { Duplex } from "node:stream";
import { createServer as createTlsServer } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TlsTransport } from "./tls-transport.js";

let pki: TestPki;
let other: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "mqtt-tls-transport" });
  other = await createTestPki({ name: "mqtt-tls-transport-other" });
});
afterAll(async () => {
  await pki.cleanup();
  await other.cleanup();
});

async function listen(server: Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

async function resolve(url: string | string[], security: Record<string, unknown>): Promise<ResolvedConfig> {
  const { resolved } = await loadConfig({ broker: { url }, security }, { baseDir: "/" });
  return resolved!;
}

const mutual = (key = pki.client.files.key) => ({
  trustStore: [pki.caFile],
  sendClientCertificate: true,
  keyStore: { certificate: pki.client.files.chain, privateKey: key },
});

/** Opens a stream and resolves once `event` came on it. */
async function open(transport: TlsTransport, event: string): Promise<Duplex> {
  const stream = transport.createStream();
  await once(stream, event);
  return stream;
}

describe("TlsTransport", () => {
  it("connects over TLS with the configured credentials, records the handshake and resumes the session", async () => {
    const server = createTlsServer({
      cert: pki.server.chain,
      key: pki.server.key,
      ca: [pki.root.cert],
      requestCert: true,
      rejectUnauthorized: true,
    });
    const peers: unknown[] = [];
    server.on("secureConnection", (socket) => {
      peers.push(socket.getPeerCertificate().subject?.CN);
      socket.write("hello");
    });
    const port = await listen(server);
    try {
      const transport = new TlsTransport(await resolve(`mqtts://localhost:${port}`, mutual()));
      expect(transport.tlsInfo).toBeUndefined();
      const first = await open(transport, "session");
      expect(transport.attempt).toMatchObject({ connected: true, secured: true });
      expect(transport.socket).toBe(first);
      expect(transport.rejectUnauthorized).toBe(true);
      expect(transport.tlsInfo).toMatchObject({ protocol: "TLSv1.3", sessionReused: false });
      expect(transport.tlsInfo!.peerChain[0]!.subject).toBe(pki.server.subject);
      first.destroy();
      // The next attempt resumes the session, and still knows the chain the full handshake showed.
      const second = await open(transport, "data");
      expect(transport.tlsInfo).toMatchObject({ sessionReused: true });
      expect(transport.tlsInfo!.peerChain[0]!.subject).toBe(pki.server.subject);
      second.destroy();
      expect(peers).toEqual([pki.client.name, pki.client.name]);
    } finally {
      server.close();
    }
  });

  it("opens plain TCP for a plain URL, and records how far the attempt got", async () => {
    const server = createTcpServer((socket) => socket.end());
    const port = await listen(server);
    try {
      const transport = new TlsTransport(await resolve(`mqtt://127.0.0.1:${port}`, { enableTls: false }));
      const stream = transport.createStream();
      expect(transport.attempt).toMatchObject({ connected: false, secured: false });
      await once(stream, "connect");
      expect(transport.attempt).toMatchObject({ connected: true, secured: false });
      expect(transport.socket).toBeUndefined();
      stream.destroy();
    } finally {
      server.close();
    }
  });

  it("moves to the entry of the broker list it is told, and stays on its only URL", async () => {
    const transport = new TlsTransport(
      await resolve(["mqtt://10.0.0.1:1883", "mqtt://10.0.0.2:1883"], { enableTls: false }),
    );
    const hosts = [transport.url.host];
    for (const index of [1, 0, 1]) {
      transport.moveTo(index);
      hosts.push(`${transport.urlIndex}:${transport.url.host}`);
    }
    expect(hosts).toEqual(["10.0.0.1", "1:10.0.0.2", "0:10.0.0.1", "1:10.0.0.2"]);
    const single = new TlsTransport(await resolve("mqtt://10.0.0.1:1883", { enableTls: false }));
    single.moveTo(0);
    expect(single.url.host).toBe("10.0.0.1");
  });

  it("names credentials the TLS stack refuses, and keeps the ones in use when a reload brings such", async () => {
    const mismatched = await resolve("mqtts://localhost:8883", mutual(other.client.files.key));
    const refused = (() => {
      try {
        return new TlsTransport(mismatched);
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toMatchObject({ name: "MqttTlsError", code: "KEY_CERT_MISMATCH" });
    expect((refused as { findings: { code: string }[] }).findings.map((f) => f.code)).toEqual([
      "KEY_CERT_MISMATCH",
    ]);

    const good = await resolve("mqtts://localhost:8883", mutual());
    const transport = new TlsTransport(good);
    expect(transport.use(mismatched)).toMatchObject({ code: "KEY_CERT_MISMATCH" });
    expect(transport.resolved).toBe(good);
    const rotated = await resolve("mqtts://localhost:8883", mutual());
    expect(transport.use(rotated)).toBeUndefined();
    expect(transport.resolved).toBe(rotated);
  });
});
