import { defineProfile } from "@proj/security-config";
import { createTestPki, startTestBroker, type TestPki } from "@proj/test-broker";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSecure, formatSyslog, jsonLinesSink, syslogSink, type SecurityEvent } from "../src/index.js";

let pki: TestPki;
let other: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "mqtt-tls-events" });
  other = await createTestPki({ name: "mqtt-tls-events-other" });
});
afterAll(async () => {
  await pki.cleanup();
  await other.cleanup();
});

const config = (url: string, security: Record<string, unknown> = {}) => ({
  broker: { url, clientId: `events-${Math.random().toString(16).slice(2)}` },
  security: {
    trustStore: [pki.caFile],
    sendClientCertificate: true,
    keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
    ...security,
  },
});
const options = { baseDir: "/", backoff: { minMs: 20, maxMs: 200 } };

describe("security events", () => {
  it("sends RFC 5424 syslog over UDP and TCP: a notice for a handshake, an alarm for an untrusted broker", async () => {
    const udp = createSocket("udp4");
    udp.bind(0, "127.0.0.1");
    await once(udp, "listening");
    const datagrams: string[] = [];
    udp.on("message", (message) => datagrams.push(message.toString()));
    let tcpText = "";
    const tcp = createServer((socket) => socket.on("data", (chunk) => (tcpText += chunk.toString())));
    tcp.listen(0, "127.0.0.1");
    await once(tcp, "listening");
    const udpSink = syslogSink({
      host: "127.0.0.1",
      port: udp.address().port,
      appName: "plc-gw",
      hostname: "gw1",
    });
    const tcpSink = syslogSink({
      host: "127.0.0.1",
      port: (tcp.address() as AddressInfo).port,
      protocol: "tcp",
      hostname: "gw1",
    });

    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const client = await connectSecure(config(broker.url), {
      ...options,
      securityEvents: [udpSink, tcpSink],
    });
    await client.end();
    const refused = await connectSecure(config(broker.url, { trustStore: [other.caFile] }), {
      ...options,
      securityEvents: [udpSink, tcpSink],
    }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "SERVER_CERT_UNTRUSTED" });

    await expect.poll(() => datagrams.length, { timeout: 3000 }).toBe(2);
    expect(datagrams[0]).toMatch(
      /^<37>1 \S+Z gw1 plc-gw \d+ TLS_HANDSHAKE_OK \[mqtt-tls@32473 domain="tls" protocol="TLSv1.3" cipher="TLS_AES_\w+" peer="CN=localhost, O=mqtt-tls test server" sessionReused="false"\] tls notice: TLS_HANDSHAKE_OK$/,
    );
    expect(datagrams[1]).toMatch(
      /^<34>1 \S+ gw1 plc-gw \d+ PEER_CERT_UNTRUSTED \[mqtt-tls@32473 domain="certificate" code="SERVER_CERT_UNTRUSTED" url="mqtts:\/\/127\.0\.0\.1:\d+"\]/,
    );
    // TCP frames each message with its length (RFC 6587 octet counting).
    await expect
      .poll(() => [...tcpText.matchAll(/(\d+) (<\d+>1 [^]*?)(?=\d+ <|$)/g)].length, { timeout: 3000 })
      .toBe(2);
    for (const [, length, message] of tcpText.matchAll(/(\d+) (<\d+>1 [^]*?)(?=\d+ <|$)/g))
      expect(Buffer.byteLength(message!)).toBe(Number(length));
    udpSink.close();
    tcpSink.close();
    udp.close();
    tcp.close();
  });

  it("writes JSON lines, and escapes structured data for syslog", () => {
    const out = new PassThrough();
    const event: SecurityEvent = {
      domain: "certificate",
      mnemonic: "CERT_EXPIRES_SOON",
      severity: "warning",
      time: new Date("2026-11-22T10:00:00Z"),
      detail: { subject: 'CN=a "quoted"] name', daysLeft: 3 },
    };
    jsonLinesSink(out)(event);
    expect(JSON.parse(out.read().toString())).toEqual({ ...event, time: "2026-11-22T10:00:00.000Z" });
    expect(formatSyslog(event, { hostname: "h", appName: "a" })).toBe(
      `<36>1 2026-11-22T10:00:00.000Z h a ${process.pid} CERT_EXPIRES_SOON [mqtt-tls@32473 domain="certificate" subject="CN=a \\"quoted\\"\\] name" daysLeft="3"] certificate warning: CERT_EXPIRES_SOON`,
    );
  });
});

describe("IEC 62351-3 session renewal and limits", () => {
  it("renegotiates a TLS 1.2 session on the interval and keeps working", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const events: string[] = [];
    await using client = await connectSecure(
      config(broker.url, { maxTlsVersion: "TLSv1.2", renegotiationIntervalHours: 0.0001 }),
      options,
    );
    client.on("securityEvent", (e) => events.push(e.mnemonic));
    await expect.poll(() => events, { timeout: 5000 }).toContain("SESSION_RENEGOTIATED");
    expect(client.state).toBe("connected");
    await client.subscribe("renewal/#");
    const received = new Promise((resolve) => client.once("message", resolve));
    await client.publish("renewal/check", "after renegotiation", { qos: 1 });
    await received;
  });

  it("renews a TLS 1.3 session by a planned reconnect that resumes it", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const events: SecurityEvent[] = [];
    await using client = await connectSecure(
      config(broker.url, { renegotiationIntervalHours: 0.0001 }),
      options,
    );
    client.on("securityEvent", (e) => events.push(e));
    await expect.poll(() => events.map((e) => e.mnemonic), { timeout: 5000 }).toContain("SESSION_RENEWED");
    expect(events.find((e) => e.mnemonic === "SESSION_RENEWED")!.detail).toMatchObject({
      protocol: "TLSv1.3",
      sessionReused: true,
    });
  });

  it("reloads the CRLs on their interval and renews the session to apply them; a stale CRL only warns", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const crl = await pki.createCrl();
    const crlFile = await pki.client.writeFile("refreshed.crl.pem", crl.pem);
    const events: string[] = [];
    await using client = await connectSecure(
      config(broker.url, { crl: [crlFile], crlRefreshHours: 0.0001 }),
      options,
    );
    client.on("securityEvent", (e) => events.push(e.mnemonic));
    await expect
      .poll(() => events, { timeout: 5000 })
      .toEqual(expect.arrayContaining(["CRL_RELOADED", "SESSION_RENEWED"]));
    // The CA publishes nothing new: the CRL goes stale. The session stays up, with a warning.
    await pki.client.writeFile("refreshed.crl.pem", (await pki.createCrl({ expired: true })).pem);
    await expect.poll(() => events, { timeout: 5000 }).toContain("CRL_STALE");
    expect(client.state).toBe("connected");
    // Even a reconnect now goes through: the stale CRL is left out rather than failing the handshake.
    const reconnected = new Promise<void>((resolve) =>
      client.on("state", (state) => state === "connected" && resolve()),
    );
    (client.mqtt.stream as unknown as { destroy(): void }).destroy();
    await reconnected;
  });

  it("keeps refreshing CRLs while TLS 1.2 renegotiations happen (one timer must not cancel the other)", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const crlFile = await pki.client.writeFile("both-timers.crl.pem", (await pki.createCrl()).pem);
    const events: string[] = [];
    await using client = await connectSecure(
      config(broker.url, {
        maxTlsVersion: "TLSv1.2",
        renegotiationIntervalHours: 0.0001,
        crl: [crlFile],
        crlRefreshHours: 0.0003,
      }),
      options,
    );
    client.on("securityEvent", (e) => events.push(e.mnemonic));
    await expect
      .poll(() => events, { timeout: 6000 })
      .toEqual(expect.arrayContaining(["SESSION_RENEGOTIATED", "CRL_RELOADED"]));
  });

  it("reports a TLS version change between connections", async () => {
    const first = await startTestBroker({ pki, requireClientCert: true, maxVersion: "TLSv1.2" });
    const events: SecurityEvent[] = [];
    await using client = await connectSecure(config(first.url), options);
    client.on("securityEvent", (e) => events.push(e));
    expect(client.tlsInfo!.protocol).toBe("TLSv1.2");
    await first.close();
    await using second = await startTestBroker({ pki, requireClientCert: true, port: first.port });
    await expect
      .poll(() => events.map((e) => e.mnemonic), { timeout: 5000 })
      .toContain("TLS_VERSION_CHANGED");
    expect(events.find((e) => e.mnemonic === "TLS_VERSION_CHANGED")).toMatchObject({
      severity: "warning",
      detail: { from: "TLSv1.2", to: "TLSv1.3" },
    });
    expect(second.connections.length).toBe(1);
  });

  it("refuses a broker chain over the profile's size limit, with an alarm", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const tight = defineProfile({
      id: "tight",
      extends: "iec62351-3",
      parameters: { maxCertBytes: 300 },
      severities: { CRL_MISSING: "off" },
    });
    const alarms: SecurityEvent[] = [];
    const client = await connectSecure(config(broker.url), {
      ...options,
      profile: tight,
      allowConfigErrors: true,
      securityEvents: (e) => void (e.severity === "alarm" && alarms.push(e)),
    });
    await expect.poll(() => client.state, { timeout: 3000 }).toBe("closed");
    expect(client.diagnosis).toMatchObject({ code: "CERT_TOO_LARGE" });
    expect(alarms.map((a) => a.mnemonic)).toEqual(["PEER_CERT_TOO_LARGE"]);
  });
});
