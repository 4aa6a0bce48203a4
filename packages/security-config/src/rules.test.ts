import { createTestPki } from "@proj/test-broker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineProfile } from "./profiles.js";
import { validateConfig, type ValidateOptions } from "./validate.js";

type Pki = Awaited<ReturnType<typeof createTestPki>>;
let pki: Pki;
let rsa: Pki;

beforeAll(async () => {
  pki = await createTestPki({ name: "config-rules", intermediate: true });
  rsa = await createTestPki({ name: "config-rules-rsa", keyType: "rsa2048" });
});
afterAll(async () => {
  await pki.cleanup();
  await rsa.cleanup();
});

/** A mutual-TLS config on the test PKI that passes every rule, with `security` overrides. */
function config(security: Record<string, unknown> = {}, broker: Record<string, unknown> = {}) {
  return {
    broker: { url: "mqtts://localhost:8883", clientId: "line1-plc", ...broker },
    security: {
      trustStore: [pki.caFile],
      sendClientCertificate: true,
      keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
      crl: [],
      ...security,
    },
  };
}

function run(input: unknown, options: ValidateOptions = {}) {
  return validateConfig(input, { baseDir: pki.dir, ...options });
}

const codes = (input: unknown, options?: ValidateOptions) =>
  run(input, options).findings.map((f) => `${f.severity}:${f.code}`);

describe("a good configuration", () => {
  it("passes the baseline with only the notice that no CRL is set (off in baseline)", () => {
    const result = run(config());
    expect(result.findings).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.resolved!.keyStore!.chain).toEqual([pki.client.cert, pki.intermediate!.cert]);
  });

  it("passes IEC 62351-3 with a CRL and renewal settings", async () => {
    const crl = await pki.createCrl({ issuer: "root" });
    const result = run(
      config({ crl: [crl.file], renegotiationIntervalHours: 24, resumptionIntervalHours: 1 }),
      { profile: "iec62351-3" },
    );
    expect(result.findings).toEqual([]);
  });
});

describe("tlsDisabled: the grey-out", () => {
  it("reports TLS_DISABLED and every security field set that is ignored", () => {
    const input = {
      broker: { url: "mqtt://localhost:1883" },
      security: { enableTls: false, trustStore: ["ca.pem"], serverName: "broker", minTlsVersion: "TLSv1.2" },
    };
    expect(codes(input)).toEqual([
      "warning:TLS_DISABLED",
      "info:FIELD_IGNORED",
      "info:FIELD_IGNORED",
      "info:FIELD_IGNORED",
    ]);
    expect(run(input).findings[0]!.message).toMatch(/^POTENTIAL SECURITY BREACH/);
    expect(
      run(input)
        .findings.slice(1)
        .map((f) => f.path),
    ).toEqual(["security.trustStore", "security.serverName", "security.minTlsVersion"]);
    expect(codes(input, { profile: "iec62351-3" })[0]).toBe("error:TLS_DISABLED");
    // Greyed-out files are not even read: ca.pem does not exist and is not reported.
    expect(codes(input)).not.toContain("error:FILE_NOT_FOUND");
  });
});

describe("urlScheme", () => {
  it("never upgrades or downgrades silently", () => {
    expect(codes(config({}, { url: "mqtt://localhost:1883" }))).toEqual(["error:URL_SCHEME_MISMATCH"]);
    expect(run(config({}, { url: "ws://localhost:8080/mqtt" })).findings[0]!.remedy).toContain(
      "wss://localhost:8080",
    );
    // The error leads: the URL asks for TLS that the setting turns off.
    expect(codes({ broker: { url: "mqtts://localhost:8883" }, security: { enableTls: false } })).toEqual([
      "error:URL_SCHEME_MISMATCH",
      "warning:TLS_DISABLED",
    ]);
    expect(codes(config({}, { url: ["mqtts://a:8883", "wss://b:443/mqtt"] }))).toEqual([]);
    expect(codes(config({}, { url: "http://localhost" }))).toEqual(["error:FIELD_INVALID"]);
  });
});

describe("credentials", () => {
  it("refuses a password without a username under MQTT 3.1.1, and allows it under MQTT 5", () => {
    const alone = run(config({}, { password: "s3cret-Only" }));
    expect(alone.findings).toEqual([
      expect.objectContaining({ code: "FIELD_INVALID", path: "broker.username", severity: "error" }),
    ]);
    expect(JSON.stringify(alone.findings)).not.toContain("s3cret-Only");
    expect(codes(config({}, { password: "x", protocolVersion: 5 }))).toEqual([]);
    expect(codes(config({}, { password: "x", username: "plc" }))).toEqual([]);
  });
});

describe("serverCheck", () => {
  it("reports a disabled check, a missing and an empty trust store", () => {
    expect(codes(config({ checkServerCertificate: false, trustStore: undefined }))).toEqual([
      "warning:SERVER_CERT_CHECK_DISABLED",
    ]);
    expect(codes(config({ checkServerCertificate: false }))).toEqual([
      "warning:SERVER_CERT_CHECK_DISABLED",
      "info:FIELD_IGNORED",
    ]);
    expect(codes(config({ checkServerCertificate: false }), { profile: "iec62351-3" })).toContain(
      "error:SERVER_CERT_CHECK_DISABLED",
    );
    expect(codes(config({ trustStore: undefined }))).toEqual(["error:TRUST_STORE_MISSING"]);
    expect(codes(config({ trustStore: [pki.client.files.key] }))).toEqual([
      "error:PEM_UNEXPECTED_BLOCK",
      "error:TRUST_STORE_EMPTY",
    ]);
  });
});

describe("trustAnchors", () => {
  it("reports a trust store entry that is neither a CA nor self-signed", () => {
    const result = run(config({ trustStore: [pki.caFile, pki.server.files.cert] }));
    expect(result.findings.map((f) => `${f.severity}:${f.code}`)).toEqual(["warning:NOT_A_CA"]);
    expect(result.findings[0]!.message).toContain(pki.server.subject);
    expect(
      codes(config({ trustStore: [pki.caFile, pki.server.files.cert] }), { profile: "iec62351-3" }),
    ).toContain("error:NOT_A_CA");
  });
});

describe("clientCertificate and mutualAuthentication", () => {
  it("reports a disabled client certificate, and a missing key store", () => {
    expect(codes(config({ sendClientCertificate: false, keyStore: undefined }))).toEqual([
      "info:CLIENT_CERT_DISABLED",
    ]);
    expect(codes(config({ sendClientCertificate: false }))).toEqual([
      "info:CLIENT_CERT_DISABLED",
      "info:FIELD_IGNORED",
    ]);
    expect(codes(config({ keyStore: undefined }))).toEqual(["error:KEY_STORE_MISSING"]);
  });

  it("requires both checks under IEC 62351-3", () => {
    const result = run(config({ sendClientCertificate: false, keyStore: undefined }), {
      profile: "iec62351-3",
    });
    const mutual = result.findings.find((f) => f.code === "MUTUAL_AUTH_REQUIRED")!;
    expect(mutual).toMatchObject({ severity: "error", path: "security" });
    expect(mutual.message).toContain("sendClientCertificate is off");
    expect(mutual.iec).toMatch(/mutual authentication/);
  });
});

describe("keyStoreIdentity and key store files", () => {
  it("reports a key that is not the certificate's, and a certificate without clientAuth", async () => {
    expect(
      codes(config({ keyStore: { certificate: pki.client.files.chain, privateKey: pki.server.files.key } })),
    ).toEqual(["error:KEY_CERT_MISMATCH"]);
    const serverOnly = await pki.issueClient({ name: "server-eku", eku: ["serverAuth"] });
    expect(
      codes(config({ keyStore: { certificate: serverOnly.files.chain, privateKey: serverOnly.files.key } })),
    ).toEqual(["error:EKU_MISMATCH"]);
  });

  it("reports chain order and a missing intermediate in the key store", async () => {
    const reversed = await pki.client.writeFile(
      "reversed-chain.pem",
      pki.intermediate!.cert + pki.client.cert,
    );
    expect(codes(config({ keyStore: { certificate: reversed, privateKey: pki.client.files.key } }))).toEqual([
      "warning:CHAIN_ORDER",
    ]);
    expect(
      codes(config({ keyStore: { certificate: pki.client.files.cert, privateKey: pki.client.files.key } })),
    ).toEqual(["info:CHAIN_INCOMPLETE"]);
  });

  it("tells a missing passphrase from a wrong one, from a file or env:", async () => {
    const encrypted = await pki.client.writeFile(
      "client-encrypted.key",
      pki.client.exportKey({ passphrase: "s3cret" }),
    );
    const keyStore = (passphrase?: string) =>
      config({
        keyStore: {
          certificate: pki.client.files.chain,
          privateKey: encrypted,
          ...(passphrase ? { passphrase } : {}),
        },
      });
    expect(codes(keyStore())).toEqual(["error:KEY_ENCRYPTED_NO_PASSPHRASE"]);
    expect(codes(keyStore("wrong"))).toEqual(["error:KEY_PASSPHRASE_WRONG"]);
    expect(codes(keyStore("env:PLC_KEY_PASS"), { env: { PLC_KEY_PASS: "s3cret" } })).toEqual([]);
    const missing = run(keyStore("env:PLC_KEY_PASS"), { env: {} });
    expect(missing.findings.map((f) => f.code)).toEqual(["ENV_VAR_MISSING", "KEY_ENCRYPTED_NO_PASSPHRASE"]);
    expect(missing.findings[0]!.message).toContain("PLC_KEY_PASS");
  });

  it("reads PKCS#12 key stores, modern and legacy, and says when the passphrase is missing", async () => {
    for (const encryption of ["modern", "legacy"] as const) {
      const p12 = await pki.client.writeFile(
        `client-${encryption}.p12`,
        pki.client.toPkcs12({ passphrase: "p12", encryption }),
      );
      const result = run(config({ keyStore: { pkcs12: p12, passphrase: "p12" } }));
      expect(result.findings).toEqual([]);
      expect(result.resolved!.keyStore!.chain[0]).toBe(pki.client.cert);
      expect(codes(config({ keyStore: { pkcs12: p12 } }))).toEqual(["error:KEY_ENCRYPTED_NO_PASSPHRASE"]);
      expect(codes(config({ keyStore: { pkcs12: p12, passphrase: "nope" } }))).toEqual([
        "error:KEY_PASSPHRASE_WRONG",
      ]);
    }
  });
});

describe("validity", () => {
  it("reports expired, not yet valid and soon-expiring certificates", async () => {
    const expired = await pki.issueClient({ name: "expired-plc", expired: true });
    const future = await pki.issueClient({ name: "future-plc", notYetValid: true });
    const soon = await pki.issueClient({ name: "soon-plc", days: 10 });
    const with_ = (leaf: typeof expired, extra: Record<string, unknown> = {}) =>
      config({ keyStore: { certificate: leaf.files.chain, privateKey: leaf.files.key }, ...extra });
    expect(codes(with_(expired))).toEqual(["error:CERT_EXPIRED"]);
    expect(codes(with_(future))).toEqual(["error:CERT_NOT_YET_VALID"]);
    expect(codes(with_(soon))).toEqual(["warning:CERT_EXPIRES_SOON"]);
    expect(codes(with_(soon, { expiryWarningDays: 5 }))).toEqual([]);
    // The trust store's certificates count too, judged at the time given.
    expect(codes(config(), { now: new Date(Date.now() + 20 * 365 * 86_400_000) })).toContain(
      "error:CERT_EXPIRED",
    );
  });
});

describe("keyStrength, signatureStrength, certificateSize", () => {
  it("grades weak keys by profile", async () => {
    const weak = await rsa.issueClient({ name: "rsa1024", keyType: "rsa1024" });
    const input = {
      broker: { url: "mqtts://localhost" },
      security: {
        trustStore: [rsa.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: weak.files.chain, privateKey: weak.files.key },
      },
    };
    expect(codes(input)).toEqual(["warning:WEAK_KEY"]);
    expect(codes(input, { profile: "iec62351-3" })).toContain("error:WEAK_KEY");
    await using ed = await createTestPki({ name: "config-rules-ed", keyType: "ed25519" });
    const edInput = { broker: { url: "mqtts://localhost" }, security: { trustStore: [ed.caFile] } };
    expect(codes(edInput)).toEqual(["info:CLIENT_CERT_DISABLED"]);
    expect(codes(edInput, { profile: "iec62351-3" }).filter((c) => c.endsWith("WEAK_KEY"))).toEqual([
      "error:WEAK_KEY",
    ]);
  });

  it("warns on SHA-1 and refuses MD5 per profile parameters", async () => {
    const sha1 = await rsa.issueClient({ name: "sha1", signatureHash: "SHA-1" });
    const input = {
      broker: { url: "mqtts://localhost" },
      security: {
        trustStore: [rsa.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: sha1.files.chain, privateKey: sha1.files.key },
      },
    };
    expect(codes(input)).toEqual(["warning:WEAK_SIGNATURE"]);
    const strict = defineProfile({
      id: "no-sha1",
      extends: "baseline",
      parameters: { sha1Signature: "error" },
    });
    expect(codes(input, { profile: strict })).toEqual(["error:WEAK_SIGNATURE"]);
  });

  it("reports certificates over the profile's size limit", () => {
    const tiny = defineProfile({
      id: "tiny",
      extends: "iec62351-3",
      parameters: { maxCertBytes: 400 },
      severities: { CRL_MISSING: "off" },
    });
    const result = run(config(), { profile: tiny });
    expect(result.findings.map((f) => f.code)).toContain("CERT_TOO_LARGE");
    expect(result.findings.find((f) => f.code === "CERT_TOO_LARGE")!.severity).toBe("error");
  });
});

describe("tlsVersions", () => {
  it("refuses versions below the profile's minimum, and an empty range", () => {
    expect(codes(config({ minTlsVersion: "TLSv1.1" }))).toEqual(["warning:TLS_VERSION_TOO_LOW"]);
    expect(codes(config({ minTlsVersion: "TLSv1" }), { profile: "iec62351-3" })).toContain(
      "error:TLS_VERSION_TOO_LOW",
    );
    expect(codes(config({ minTlsVersion: "TLSv1.3", maxTlsVersion: "TLSv1.2" }))).toEqual([
      "error:FIELD_INVALID",
    ]);
  });
});

describe("sessionRenewal and revocation", () => {
  it("keeps 0 < resumption < renegotiation <= 24 hours", () => {
    expect(codes(config({ renegotiationIntervalHours: 48 }))).toEqual(["warning:SESSION_RENEWAL_INVALID"]);
    expect(codes(config({ renegotiationIntervalHours: 8, resumptionIntervalHours: 8 }))).toEqual([
      "warning:SESSION_RENEWAL_INVALID",
    ]);
    expect(codes(config({ resumptionIntervalHours: 30 }), { profile: "iec62351-3" })).toContain(
      "error:SESSION_RENEWAL_INVALID",
    );
    expect(codes(config({ renegotiationIntervalHours: 0 }))).toEqual(["error:FIELD_INVALID"]);
  });

  it("warns about no CRL under IEC 62351-3, and about a stale one", async () => {
    expect(codes(config(), { profile: "iec62351-3" })).toEqual(["warning:CRL_MISSING"]);
    const stale = await pki.createCrl({ issuer: "root", expired: true });
    expect(codes(config({ crl: [stale.file] }))).toEqual(["warning:CRL_EXPIRED"]);
    expect(codes(config({ crl: [stale.der.toString("base64").slice(0, 10) + "not-a-file"] }))).toEqual([
      "error:FILE_NOT_FOUND",
    ]);
  });

  it("names the CA of the trust store that has no CRL when CRLs are checked (Node checks every CA of the chain)", async () => {
    const issuing = await pki.createCrl();
    const root = await pki.createCrl({ issuer: "root" });
    const onlyIssuing = run(config({ crl: [issuing.file] }));
    expect(onlyIssuing.findings.map((f) => `${f.severity}:${f.code}`)).toEqual(["error:CRL_INCOMPLETE"]);
    expect(onlyIssuing.findings[0]!.message).toContain(pki.root.subject.split(", ")[0]!);
    expect(codes(config({ crl: [issuing.file, root.file] }))).toEqual([]);
    // One file holding both, as a lab CA's crl.pem does.
    const both = await pki.client.writeFile("both.crl", issuing.pem + root.pem);
    expect(codes(config({ crl: [both] }))).toEqual([]);
  });
});

describe("pins and serverName", () => {
  it("refuses malformed pins and accepts real ones", () => {
    expect(codes(config({ pinnedCertificates: [pki.server.spkiPin] }))).toEqual([]);
    const result = run(config({ pinnedCertificates: ["sha1/abc", pki.server.spkiPin.slice(0, -2)] }));
    expect(result.findings.map((f) => [f.code, f.path])).toEqual([
      ["PIN_MALFORMED", "security.pinnedCertificates[0]"],
      ["PIN_MALFORMED", "security.pinnedCertificates[1]"],
    ]);
  });

  it("says which name is checked when it is not the URL's host", () => {
    const result = run(config({ serverName: "broker.plant.local" }, { url: "mqtts://192.168.10.20:8883" }));
    expect(result.findings).toMatchObject([{ code: "SERVER_NAME_OVERRIDE", severity: "info" }]);
    expect(result.findings[0]!.message).toBe(
      'The broker is reached at 192.168.10.20 but its certificate is checked for "broker.plant.local" (sent as SNI too).',
    );
  });
});

describe("sparkplugIds, sparkplugMutualTls and sparkplugIdentity", () => {
  const withSparkplug = (sparkplug: Record<string, unknown>, security: Record<string, unknown> = {}) => ({
    ...config(security),
    sparkplug,
  });

  it("passes an edge node whose id is its certificate's CN, and checks nothing without a sparkplug section", () => {
    // The test PKI's client certificate has CN=client.
    expect(codes(withSparkplug({ groupId: "Plant1", edgeNodeId: "client", deviceIds: ["tank1"] }))).toEqual(
      codes(config()),
    );
    expect(codes(config({ sendClientCertificate: false }))).not.toContain("error:SPARKPLUG_NOT_MUTUAL_TLS");
  });

  it("reports ids that cannot be topic levels, with the field", () => {
    const findings = run(
      withSparkplug({ groupId: "Plant/1", edgeNodeId: "client", deviceIds: ["ok", "tank#2"], hostId: "" }),
    ).findings.filter((f) => f.code === "SPARKPLUG_ID_INVALID");
    expect(findings.map((f) => [f.path, f.message])).toEqual([
      ["sparkplug.groupId", 'The Sparkplug groupId "Plant/1" contains "/": it cannot be a topic level.'],
      ["sparkplug.hostId", 'The Sparkplug hostId "" is empty: it cannot be a topic level.'],
      [
        "sparkplug.deviceIds[1]",
        'The Sparkplug deviceIds[1] "tank#2" contains "#": it cannot be a topic level.',
      ],
    ]);
  });

  it("requires mutual TLS, even with TLS off (where the other rules are greyed out)", () => {
    expect(codes(withSparkplug({ edgeNodeId: "client" }, { sendClientCertificate: false }))).toContain(
      "error:SPARKPLUG_NOT_MUTUAL_TLS",
    );
    const off = run(withSparkplug({ edgeNodeId: "client" }, { enableTls: false })).findings.find(
      (f) => f.code === "SPARKPLUG_NOT_MUTUAL_TLS",
    );
    expect(off?.message).toBe("Sparkplug runs only over mutual TLS, and enableTls is off.");
  });

  it("reports an edge node id that is not the client certificate's identity", () => {
    const mismatch = run(withSparkplug({ groupId: "Plant1", edgeNodeId: "line1-plc" })).findings.find(
      (f) => f.code === "SPARKPLUG_IDENTITY_MISMATCH",
    );
    expect(mismatch).toMatchObject({ severity: "error", path: "sparkplug.edgeNodeId" });
    expect(mismatch?.message).toContain('identity is "client" but the edge node publishes as "line1-plc"');
    expect(mismatch?.remedy).toContain("mqtt-tls pki issue client --name line1-plc");
  });
});
