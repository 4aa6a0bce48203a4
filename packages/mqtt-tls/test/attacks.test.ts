import { createTestPki, startTestBroker, type TestBroker, type TestPki } from "@proj/test-broker";
import { once } from "node:events";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSecure, isMqttTlsError, type SecurityEvent } from "../src/index.js";

/**
 * The attack set: brokers a client must never talk MQTT to. Each case ends in its code, no MQTT session is ever
 * established (the broker records every CONNECT it accepts), and an alarm is raised.
 */
let pki: TestPki;
let attacker: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "attacks", intermediate: true });
  attacker = await createTestPki({ name: "attacker" });
});
afterAll(async () => {
  await pki.cleanup();
  await attacker.cleanup();
});

interface Case {
  name: string;
  code: string;
  broker: () => Promise<TestBroker>;
  security?: Record<string, unknown>;
}

const cases: Case[] = [
  {
    name: "a certificate from another CA",
    code: "SERVER_CERT_UNTRUSTED",
    broker: () => startTestBroker({ pki: attacker }),
  },
  {
    name: "a valid certificate for another name",
    code: "SERVER_NAME_MISMATCH",
    broker: async () =>
      startTestBroker({ pki, serverCertificate: await pki.issueServer({ wrongName: true }) }),
  },
  {
    name: "an expired certificate",
    code: "SERVER_CERT_EXPIRED",
    broker: async () =>
      startTestBroker({
        pki,
        serverCertificate: await pki.issueServer({ name: "old", dns: ["localhost"], expired: true }),
      }),
  },
  {
    name: "a revoked certificate",
    code: "SERVER_CERT_REVOKED",
    broker: async () => startTestBroker({ pki, serverCertificate: revokedServer! }),
    security: { crl: [] as string[] }, // filled in beforeAll of the test
  },
  {
    name: "TLS 1.1 only",
    code: "TLS_VERSION_MISMATCH",
    broker: () =>
      startTestBroker({ pki, minVersion: "TLSv1.1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" }),
  },
  {
    name: "a pinned key that is not the broker's",
    code: "PINNED_CERT_MISMATCH",
    broker: () => startTestBroker({ pki }),
    security: { pinnedCertificates: [] as string[] },
  },
];
let revokedServer: Awaited<ReturnType<TestPki["issueServer"]>> | undefined;

describe("attack set: zero MQTT sessions, each case named", () => {
  beforeAll(async () => {
    revokedServer = await pki.issueServer({ name: "revoked-broker", dns: ["localhost"] });
    const rootCrl = await pki.createCrl({ issuer: "root" });
    const crl = await pki.createCrl({ revoke: [revokedServer] });
    cases.find((c) => c.code === "SERVER_CERT_REVOKED")!.security = { crl: [crl.file, rootCrl.file] };
    cases.find((c) => c.code === "PINNED_CERT_MISMATCH")!.security = {
      pinnedCertificates: [attacker.server.spkiPin],
    };
  });

  it.each(cases.map((c) => [c.name, c] as const))("a broker with %s", async (_name, attack) => {
    await using broker = await attack.broker();
    const events: SecurityEvent[] = [];
    const failure = await connectSecure(
      {
        broker: { url: broker.url, connectTimeoutMs: 4000 },
        security: { trustStore: [pki.caFile], ...attack.security },
      },
      { securityEvents: (event) => void events.push(event) },
    ).catch((error: unknown) => error);
    expect(isMqttTlsError(failure) && failure.code).toBe(attack.code);
    expect(broker.connections).toHaveLength(0);
    expect(events.some((e) => e.severity === "alarm")).toBe(true);
  });

  it("a plain MQTT port where TLS was asked for: NOT_TLS, and no CONNECT is ever sent", async () => {
    const received: Buffer[] = [];
    const plain: Server = createServer((socket: Socket) => {
      // As a plain broker does: a CONNECT gets a CONNACK, anything else (a TLS ClientHello) a closed connection.
      socket.on("data", (chunk: Buffer) => {
        received.push(chunk);
        if (chunk[0] === 0x10) socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
        else socket.destroy();
      });
    }).listen(0, "127.0.0.1");
    await once(plain, "listening");
    try {
      const { port } = plain.address() as AddressInfo;
      const failure = await connectSecure({
        broker: {
          url: `mqtts://127.0.0.1:${port}`,
          connectTimeoutMs: 4000,
          username: "plc",
          password: "never-sent-in-clear",
        },
        security: { trustStore: [pki.caFile] },
      }).catch((error: unknown) => error);
      expect(isMqttTlsError(failure) && failure.code).toBe("NOT_TLS");
      // A TLS ClientHello went out, then at most an anonymous CONNECT to tell what the port is: never the password.
      expect(received[0]![0]).toBe(0x16);
      const sent = Buffer.concat(received);
      expect(sent.includes(Buffer.from("never-sent-in-clear"))).toBe(false);
      expect(sent.includes(Buffer.from("plc"))).toBe(false);
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
