import mqtt from "mqtt";
import { createConnection } from "node:net";
import { describe, expect, it } from "vitest";
import { createTestPki, probeMqtt, startTestBroker } from "../src/index.js";

function refusedConnection(port: number, host = "127.0.0.1"): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code));
  });
}

/** Opens `count` TCP connections that never start a TLS handshake; resolves with how many the server closed. */
async function idleSockets(port: number, count: number, waitMs: number): Promise<number> {
  let closed = 0;
  const sockets = Array.from({ length: count }, () => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.on("error", () => undefined);
    socket.once("close", () => closed++);
    return socket;
  });
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  for (const socket of sockets) socket.destroy();
  return closed;
}

describe("startTestBroker under idle sockets", () => {
  it("drops connections that never finish a TLS handshake, and says why", async () => {
    await using pki = await createTestPki();
    await using broker = await startTestBroker({ pki, handshakeTimeoutMs: 300 });
    expect(await idleSockets(broker.port, 300, 1500)).toBe(300);
    expect(broker.handshakeFailures.length).toBe(300);
    expect(broker.handshakeFailures[0]).toMatchObject({ code: "ERR_TLS_HANDSHAKE_TIMEOUT" });
  });

  it("closes the connections beyond its bound at once", async () => {
    await using pki = await createTestPki();
    await using broker = await startTestBroker({ pki, maxConnections: 5, handshakeTimeoutMs: 5000 });
    expect(await idleSockets(broker.port, 20, 500)).toBe(15);
  });
});

describe("startTestBroker", () => {
  it("binds the clientId to the certificate CN when asked", async () => {
    await using pki = await createTestPki();
    await using broker = await startTestBroker({ pki, requireClientCert: true, bindClientIdToCn: true });
    const plc = await pki.issueClient({ name: "line1-nx3004" });
    const tls = { ca: pki.caPem, cert: plc.chain, key: plc.key };

    expect((await probeMqtt(broker.url, { ...tls, clientId: "line1-nx3004" })).connected).toBe(true);
    const impostor = await probeMqtt(broker.url, { ...tls, clientId: "line2-nx3004" });
    expect(impostor.connected).toBe(false);
    expect(impostor.error?.message).toMatch(/Not authorized/i);
    expect(broker.refusedConnects).toEqual([
      { clientId: "line2-nx3004", reason: 'clientId is not the certificate CN "line1-nx3004"' },
    ]);
    expect(broker.connections.map((c) => c.clientId)).toEqual(["line1-nx3004"]);
  });

  it("checks usernames and passwords when given users", async () => {
    await using pki = await createTestPki();
    await using broker = await startTestBroker({ pki, users: { plc: "right-password" } });
    const wrong = await probeMqtt(broker.url, { ca: pki.caPem, username: "plc", password: "wrong-password" });
    expect(wrong.connected).toBe(false);
    expect(wrong.error?.message).toMatch(/Bad username or password/i);
    const right = await probeMqtt(broker.url, {
      ca: pki.caPem,
      username: "plc",
      password: "right-password",
      clientId: "p",
    });
    expect(right.connected).toBe(true);
    expect((await broker.waitForClient("p")).username).toBe("plc");
    expect(broker.refusedConnects.map((r) => r.reason)).toEqual(["bad username or password"]);
  });

  it("serves plain MQTT on an extra listener, and records plain MQTT sent to the TLS port", async () => {
    await using pki = await createTestPki();
    await using broker = await startTestBroker({ pki, plain: true });
    expect(broker.plainUrl).toBe(`mqtt://127.0.0.1:${broker.plainPort}`);
    const plain = await probeMqtt(broker.plainUrl!, { clientId: "plain" });
    expect(plain).toMatchObject({ connected: true, tlsVersion: undefined });
    expect((await broker.waitForClient("plain")).listener).toBe("plain");

    // A device configured for mqtt:// against the TLS port: the broker sees a handshake that is not TLS.
    const mismatch = await probeMqtt(`mqtt://127.0.0.1:${broker.port}`, { clientId: "confused" }, 2000);
    expect(mismatch.connected).toBe(false);
    const [failure] = await broker.waitForHandshakeFailures(1);
    expect(failure).toMatchObject({ listener: "tls" });
    expect(failure!.message).toMatch(/wrong version number|http request|unknown protocol|unexpected eof/i);
  });

  it("serves MQTT over secure WebSocket with the same client certificate checks", async () => {
    await using pki = await createTestPki();
    await using broker = await startTestBroker({ pki, wss: true, requireClientCert: true });
    expect(broker.wssUrl).toBe(`wss://127.0.0.1:${broker.wssPort}/mqtt`);
    const ok = await probeMqtt(broker.wssUrl!, {
      ca: pki.caPem,
      cert: pki.client.chain,
      key: pki.client.key,
      clientId: "ws-plc",
    });
    expect(ok.connected).toBe(true);
    const seen = await broker.waitForClient("ws-plc");
    expect(seen).toMatchObject({ listener: "wss", certificate: { subjectCn: "client" } });

    const anonymous = await probeMqtt(broker.wssUrl!, { ca: pki.caPem, clientId: "ws-anon" });
    expect(anonymous.connected).toBe(false);
    const failures = await broker.waitForHandshakeFailures(1);
    expect(failures.at(-1)).toMatchObject({ listener: "wss", code: "NO_CLIENT_CERTIFICATE" });
  });

  it("limits TLS versions and ciphers, and records what was negotiated", async () => {
    await using pki = await createTestPki();
    await using broker = await startTestBroker({
      pki,
      maxVersion: "TLSv1.2",
      ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    // A TLS 1.2 PLC gets in with the one suite the broker allows.
    expect((await probeMqtt(broker.url, { ca: pki.caPem, clientId: "nx" })).connected).toBe(true);
    expect(await broker.waitForClient("nx")).toMatchObject({
      tlsVersion: "TLSv1.2",
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });

    // A client that insists on TLS 1.3 cannot talk to it.
    const modern = await probeMqtt(broker.url, { ca: pki.caPem, minVersion: "TLSv1.3" });
    expect(modern.connected).toBe(false);
    expect((await broker.waitForHandshakeFailures(1)).at(-1)!.message).toMatch(
      /unsupported protocol|version/i,
    );

    // Nor can one whose only suite the broker does not allow.
    const otherSuite = await probeMqtt(broker.url, {
      ca: pki.caPem,
      ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384",
    });
    expect(otherSuite.connected).toBe(false);
    expect((await broker.waitForHandshakeFailures(2)).at(-1)!.message).toMatch(/no shared cipher/i);
  });

  it("listens on ::1 when asked", async () => {
    await using pki = await createTestPki();
    await using broker = await startTestBroker({ pki, host: "::1" });
    expect(broker.url).toBe(`mqtts://[::1]:${broker.port}`);
    expect((await probeMqtt(broker.url, { ca: pki.caPem })).connected).toBe(true);
  });

  it("closes with clients still connected, and frees its ports", async () => {
    await using pki = await createTestPki();
    const broker = await startTestBroker({ pki, plain: true, wss: true });
    const client = await mqtt.connectAsync(broker.url, { ca: pki.caPem, reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    await broker.close();
    await closed;
    for (const port of [broker.port, broker.plainPort!, broker.wssPort!]) {
      expect(await refusedConnection(port)).toBe("ECONNREFUSED");
    }
    await broker.close(); // idempotent
    await client.endAsync(true);
  });

  it("times out waiting for something that does not happen, instead of hanging", async () => {
    await using pki = await createTestPki();
    await using broker = await startTestBroker({ pki });
    await expect(broker.waitForClient("nobody", 100)).rejects.toThrow(
      /timed out after 100 ms waiting for client "nobody"/,
    );
    await expect(broker.waitForHandshakeFailures(1, 100)).rejects.toThrow(/timed out/);
  });
});
