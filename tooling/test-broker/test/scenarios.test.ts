import { describe, expect, it } from "vitest";
import {
  createTestPki,
  mosquittoSkipReason,
  probeMqtt,
  startMosquitto,
  startTestBroker,
  type TestCrl,
  type TestLeaf,
  type TestPki,
} from "../src/index.js";

/**
 * The same accept/reject scenarios against the embedded aedes broker and a real Eclipse Mosquitto: what a client
 * sees, and what the broker recorded. Node's TLS server drops a bad client certificate without an alert, while
 * Mosquitto sends one (unknown CA, certificate expired, certificate required): both must end in a refusal, fast.
 */
type Kind = "aedes" | "mosquitto";

interface BrokerUnderTest extends AsyncDisposable {
  url: string;
  /** What the broker logged or recorded about the last refused handshake. */
  refusal(): Promise<string>;
  /** The identity the broker recorded for `clientId`. */
  identityOf(clientId: string): Promise<string | undefined>;
}

interface StartOptions {
  pki: TestPki;
  requireClientCert?: boolean;
  crl?: TestCrl;
  serverCertificate?: TestLeaf;
}

async function startBroker(kind: Kind, options: StartOptions): Promise<BrokerUnderTest> {
  if (kind === "aedes") {
    const broker = await startTestBroker(options);
    return {
      url: broker.url,
      refusal: async () => {
        const failures = await broker.waitForHandshakeFailures(1);
        const last = failures.at(-1)!;
        return `${last.code ?? ""} ${last.message}`;
      },
      identityOf: async (clientId) => (await broker.waitForClient(clientId)).certificate?.subjectCn,
      [Symbol.asyncDispose]: () => broker.close(),
    };
  }
  const mosquitto = await startMosquitto({
    pki: options.pki,
    requireCertificate: options.requireClientCert ?? false,
    useIdentityAsUsername: options.requireClientCert ?? false,
    ...(options.crl ? { crl: options.crl } : {}),
    ...(options.serverCertificate ? { serverCertificate: options.serverCertificate } : {}),
  });
  return {
    url: mosquitto.url,
    // Mosquitto logs a refused handshake in one of two forms, depending on where OpenSSL noticed it.
    refusal: () =>
      mosquitto.waitForLog(
        /(?:OpenSSL Error\[0\]|Client connection from \S+ failed): [^\n]*(?:certificate|verify)[^\n]*/,
      ),
    identityOf: async (clientId) => {
      const line = await mosquitto.waitForLog(new RegExp(`as ${clientId} \\([^)]*u'([^']+)'\\)`));
      return /u'([^']+)'/.exec(line)?.[1];
    },
    [Symbol.asyncDispose]: () => mosquitto.close(),
  };
}

const clientOptions = (pki: TestPki, leaf: TestLeaf | undefined, clientId: string) => ({
  ca: pki.caPem,
  clientId,
  ...(leaf ? { cert: leaf.chain, key: leaf.key } : {}),
});

function scenarios(kind: Kind): void {
  describe(`${kind}: mutual TLS accept and reject`, () => {
    it("accepts a client with a valid certificate and knows who it is", async () => {
      await using pki = await createTestPki({ intermediate: true });
      await using broker = await startBroker(kind, { pki, requireClientCert: true });
      const result = await probeMqtt(broker.url, clientOptions(pki, pki.client, "line1-plc"));
      expect(result).toMatchObject({ connected: true, error: undefined });
      expect(result.tlsVersion).toBe("TLSv1.3");
      expect(await broker.identityOf("line1-plc")).toBe("client");
    });

    interface Refusal {
      name: string;
      /** The client to present, made from the broker's PKI and a rogue one. */
      client(pki: TestPki, rogue: TestPki): Promise<TestLeaf | undefined>;
      revoke?: boolean;
      /** What the embedded broker records (Node's verify code). */
      aedes: RegExp;
      /** What Mosquitto logs, and the TLS alert the client receives from it. */
      mosquitto: { log: RegExp; alert: string };
    }
    const refusals: Refusal[] = [
      {
        name: "a client that sends no certificate",
        client: async () => undefined,
        aedes: /^NO_CLIENT_CERTIFICATE/,
        mosquitto: {
          log: /peer did not return a certificate/,
          alert: "CERTIFICATE_REQUIRED",
        },
      },
      {
        name: "a client certificate from another CA",
        client: async (_pki, rogue) => rogue.client,
        aedes: /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY) /,
        mosquitto: { log: /certificate verify failed/, alert: "UNKNOWN_CA" },
      },
      {
        name: "an expired client certificate",
        client: (pki) => pki.issueClient({ name: "old-plc", expired: true }),
        aedes: /^CERT_HAS_EXPIRED /,
        mosquitto: { log: /certificate verify failed/, alert: "CERTIFICATE_EXPIRED" },
      },
      {
        name: "a client certificate that is not valid yet",
        client: (pki) => pki.issueClient({ name: "early-plc", notYetValid: true }),
        aedes: /^CERT_NOT_YET_VALID /,
        mosquitto: { log: /certificate verify failed/, alert: "BAD_CERTIFICATE" },
      },
      {
        name: "a revoked client certificate listed in the CRL",
        client: (pki) => pki.issueClient({ name: "stolen-plc" }),
        revoke: true,
        aedes: /^CERT_REVOKED /,
        mosquitto: { log: /certificate verify failed/, alert: "CERTIFICATE_REVOKED" },
      },
    ];

    it.each(refusals)("refuses $name, says why, and lets valid clients in", async (refusal) => {
      await using pki = await createTestPki();
      await using rogue = await createTestPki({ name: "rogue" });
      const leaf = await refusal.client(pki, rogue);
      const crl = refusal.revoke && leaf ? await pki.createCrl({ revoke: [leaf] }) : undefined;
      await using broker = await startBroker(kind, { pki, requireClientCert: true, ...(crl ? { crl } : {}) });

      const result = await probeMqtt(broker.url, clientOptions(pki, leaf, "refused"));
      expect(result).toMatchObject({ connected: false, timedOut: false });
      if (kind === "aedes") {
        expect(await broker.refusal()).toMatch(refusal.aedes);
      } else {
        expect(await broker.refusal()).toMatch(refusal.mosquitto.log);
        // OpenSSL 3.0 (Node 20, 22) names an alert by the version that defined it (ERR_SSL_SSLV3_ALERT_X,
        // ERR_SSL_TLSV13_ALERT_X), OpenSSL 3.5 (Node 24) may say ERR_SSL_SSL/TLS_ALERT_X.
        expect(result.error?.code).toMatch(
          new RegExp(`^ERR_SSL_(SSLV3|TLSV1|TLSV13|SSL/TLS)_ALERT_${refusal.mosquitto.alert}$`),
        );
      }
      // The refusal is about that certificate only.
      expect((await probeMqtt(broker.url, clientOptions(pki, pki.client, "good-plc"))).connected).toBe(true);
    });

    it("is refused by a client that trusts another CA", async () => {
      await using pki = await createTestPki();
      await using other = await createTestPki({ name: "other" });
      await using broker = await startBroker(kind, { pki });
      const result = await probeMqtt(broker.url, { ca: other.caPem, clientId: "careful" });
      expect(result.connected).toBe(false);
      expect(result.error?.code).toMatch(
        /UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN/,
      );
    });

    it("is refused by a client when its certificate expired or names another host", async () => {
      await using pki = await createTestPki();
      const expired = await pki.issueServer({ expired: true });
      {
        await using broker = await startBroker(kind, { pki, serverCertificate: expired });
        expect((await probeMqtt(broker.url, { ca: pki.caPem })).error?.code).toBe("CERT_HAS_EXPIRED");
      }
      const elsewhere = await pki.issueServer({ wrongName: true });
      await using broker = await startBroker(kind, { pki, serverCertificate: elsewhere });
      expect((await probeMqtt(broker.url, { ca: pki.caPem })).error?.code).toBe(
        "ERR_TLS_CERT_ALTNAME_INVALID",
      );
    });
  });
}

scenarios("aedes");
describe.skipIf(mosquittoSkipReason())("Eclipse Mosquitto interop", () => scenarios("mosquitto"));
