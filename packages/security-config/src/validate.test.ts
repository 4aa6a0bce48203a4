import { createTestPki } from "@proj/test-broker";
import fc from "fast-check";
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, validateConfig } from "./validate.js";

type Pki = Awaited<ReturnType<typeof createTestPki>>;
let pki: Pki;

beforeAll(async () => {
  pki = await createTestPki({ name: "config-validate" });
});
afterAll(() => pki.cleanup());

async function writeConfig(name: string, content: unknown): Promise<string> {
  const dir = join(pki.dir, "config");
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

describe("loadConfig", () => {
  it("loads hundreds of configurations at once in what their files weigh, not in file-size limits", async () => {
    const path = await writeConfig("fleet-member.json", {
      broker: { url: "mqtts://localhost:8883" },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
      },
    });
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 1);
    const loaded = await Promise.all(Array.from({ length: 300 }, () => loadConfig(path)));
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    clearInterval(sample);
    expect(loaded.every((l) => l.ok)).toBe(true);
    // 300 configurations, each with a trust store, a chain and a key of a few KB: far below one 8 MiB limit each.
    expect(peak - before).toBeLessThan(256 * 1024 * 1024);
  });

  it("reads paths relative to the config file", async () => {
    const path = await writeConfig("plc.json", {
      $schema: "../node_modules/@proj/security-config/schema/security-config.schema.json",
      broker: { url: "mqtts://localhost:8883" },
      security: { trustStore: [relative(join(pki.dir, "config"), pki.caFile)] },
    });
    const result = await loadConfig(path);
    expect(result.findings.map((f) => f.code)).toEqual(["CLIENT_CERT_DISABLED"]);
    expect(result.ok).toBe(true);
    expect(result.resolved!.trustStore!.pems).toEqual([pki.caPem]);
  });

  it("turns a missing file, unreadable JSON and a non-object into findings", async () => {
    expect((await loadConfig(join(pki.dir, "nope.json"))).findings).toMatchObject([
      { code: "FILE_NOT_FOUND", severity: "error" },
    ]);
    const broken = await writeConfig("broken.json", '{ "broker": { "url": "mqtts://x" }, }');
    const result = await loadConfig(broken);
    expect(result.findings).toMatchObject([{ code: "FILE_UNREADABLE" }]);
    expect(result.findings[0]!.message).toMatch(/is not valid JSON/);
    expect((await loadConfig(pki.dir)).findings.map((f) => f.code)).toEqual(["FILE_UNREADABLE"]);
    expect((await loadConfig(await writeConfig("array.json", [1, 2]))).findings.map((f) => f.code)).toEqual([
      "FIELD_INVALID",
    ]);
  });

  it("warns of credentials in the URL and never prints them, an @ in the password included", async () => {
    const result = await loadConfig({
      broker: { url: "mqtts://plc1:Pa55@word-42@127.0.0.1:8883" },
      security: { trustStore: [pki.caFile] },
    });
    expect(result.findings.map((f) => f.code)).toContain("URL_CREDENTIALS");
    expect(result.resolved!.urls[0]!.display).toBe("mqtts://127.0.0.1:8883");
    const typo = await loadConfig({ broker: { url: "mqtts://plc1:Pa55@word-42@host:88x3" }, security: {} });
    expect(typo.findings[0]).toMatchObject({
      code: "FIELD_INVALID",
      message: '"mqtts://host:88x3" is not a URL.',
    });
    for (const findings of [result.findings, typo.findings])
      expect(JSON.stringify(findings)).not.toMatch(/Pa55|word-42/);
  });

  it("names where the JSON breaks, never the text around it (a password left unquoted)", async () => {
    for (const [text, where] of [
      ['{\n  "broker": { "url": "mqtts://x", "password": Sup3rS3cretPassw0rd }\n}', "line 2, column 47"],
      ['{ "broker": { "password": \'Sup3rS3cretPassw0rd\' } }', "line 1, column 27"],
    ]) {
      const result = await loadConfig(await writeConfig("unquoted.json", text));
      expect(result.findings[0]!.message).toContain(where);
      expect(JSON.stringify(result.findings)).not.toMatch(/Sup3r|S3cret|Passw0rd/);
    }
  });
});

describe("validateConfig: parse and normalize", () => {
  it("reports unknown fields and still checks the rest", () => {
    const result = validateConfig({
      broker: { url: "mqtts://localhost", port: 8883 },
      security: { trustStor: ["ca.pem"], checkServerCertificate: true },
    });
    // The misspelt field is the cause of the missing trust store: it leads, raised to an error, with the fix.
    expect(result.findings.map((f) => [f.code, f.path, f.severity, f.causedBy])).toEqual([
      ["UNKNOWN_FIELD", "security.trustStor", "error", undefined],
      ["TRUST_STORE_MISSING", "security.trustStore", "error", "UNKNOWN_FIELD"],
      ["UNKNOWN_FIELD", "broker.port", "warning", undefined],
      ["CLIENT_CERT_DISABLED", "security.sendClientCertificate", "info", undefined],
    ]);
    expect(result.findings[0]!.message).toContain("did you mean trustStore?");
    expect(result.findings[0]!.remedy).toContain('Rename it to "trustStore"');
    expect(
      validateConfig({ broker: { url: "mqtts://x" }, extra: 1 }, { profile: "iec62351-3" }).findings[0],
    ).toMatchObject({ code: "UNKNOWN_FIELD", severity: "error" });
  });

  it("does not blame a misspelt field when the field meant is set too", async () => {
    const result = await loadConfig({
      broker: { url: "mqtt://127.0.0.1:1883" },
      security: { enableTls: false, trustStore: ["a.pem"], trustStor: ["b.pem"] },
    });
    const unknown = result.findings.find((f) => f.code === "UNKNOWN_FIELD")!;
    expect(unknown.message).toBe(
      '"trustStor" is not a configuration field and is ignored: did you mean trustStore?',
    );
    expect(unknown.remedy).toBe('Remove it: "trustStore" is set as well.');
    expect(result.findings.find((f) => f.code === "FIELD_IGNORED")).toMatchObject({
      path: "security.trustStore",
      message: "It has no effect while enableTls is false.",
    });
    expect(result.findings.filter((f) => f.causedBy === "UNKNOWN_FIELD")).toEqual([]);
  });

  it("reports fields of the wrong type with their path", () => {
    const result = validateConfig({
      broker: { url: "mqtts://x", keepaliveSeconds: -1 },
      security: { enableTls: "yes" },
    });
    expect(result.findings.map((f) => [f.code, f.path])).toEqual([
      ["FIELD_INVALID", "broker.keepaliveSeconds"],
      ["FIELD_INVALID", "security.enableTls"],
    ]);
    expect(result.resolved).toBeUndefined();
    expect(validateConfig({ security: {} }).findings.map((f) => f.path)).toEqual(["broker"]);
  });

  it("reads inline PEM wherever a path goes, and env: anywhere a string goes", () => {
    const result = validateConfig(
      {
        broker: { url: "env:BROKER_URL", username: "plc", password: "env:MQTT_PASSWORD" },
        security: { trustStore: "env:CA_PEM" },
      },
      { env: { BROKER_URL: "mqtts://localhost:8883", MQTT_PASSWORD: "hunter2", CA_PEM: pki.caPem } },
    );
    expect(result.findings.map((f) => f.code)).toEqual(["CLIENT_CERT_DISABLED"]);
    expect(result.resolved!.config.broker.password).toBe("hunter2");
    expect(result.resolved!.trustStore!.pems).toEqual([pki.caPem]);
  });

  it("names a missing environment variable and never its value", () => {
    const result = validateConfig(
      {
        broker: { url: "mqtts://localhost", password: "env:MQTT_PASSWORD" },
        security: { trustStore: [pki.caFile] },
      },
      { env: {} },
    );
    expect(result.findings[0]).toMatchObject({
      code: "ENV_VAR_MISSING",
      path: "broker.password",
      severity: "error",
    });
    expect(result.findings[0]!.message).toContain("MQTT_PASSWORD");
  });

  it("puts a key without its passphrase under the passphrase variable that is not set", async () => {
    const keyFile = await pki.client.writeFile(
      "env-encrypted.key",
      pki.client.exportKey({ passphrase: "k3y-Pass" }),
    );
    const result = await loadConfig(
      {
        broker: { url: "mqtts://localhost" },
        security: {
          trustStore: [pki.caFile],
          sendClientCertificate: true,
          keyStore: { certificate: pki.client.files.chain, privateKey: keyFile, passphrase: "env:KEY_PASS" },
        },
      },
      { env: {} },
    );
    expect(result.findings.filter((f) => f.severity === "error").map((f) => [f.code, f.causedBy])).toEqual([
      ["ENV_VAR_MISSING", undefined],
      ["KEY_ENCRYPTED_NO_PASSPHRASE", "ENV_VAR_MISSING"],
    ]);
  });

  it("names DER, PKCS#12 and missing files in the trust store with the path and the fix", async () => {
    const der = pki.root.files.cert.replace(/\.crt$/, ".der");
    await writeFile(der, pki.root.certDer);
    const p12 = await pki.client.writeFile("trust.p12", pki.client.toPkcs12({ passphrase: "x" }));
    const result = validateConfig(
      { broker: { url: "mqtts://localhost" }, security: { trustStore: [der, p12, "missing.pem"] } },
      { baseDir: pki.dir },
    );
    expect(result.findings.map((f) => [f.code, f.path])).toEqual([
      ["NOT_PEM_DER", "security.trustStore[0]"],
      ["TRUST_STORE_EMPTY", "security.trustStore"],
      ["NOT_PEM_PKCS12", "security.trustStore[1]"],
      ["FILE_NOT_FOUND", "security.trustStore[2]"],
      ["CLIENT_CERT_DISABLED", "security.sendClientCertificate"],
    ]);
    // An empty trust store only follows from the files that could not be used.
    expect(result.findings[1]!.causedBy).toBe("NOT_PEM_DER");
    expect(result.findings[0]!.remedy).toBe(`openssl x509 -inform der -in root-ca.der -out root-ca.pem`);
  });

  it("falls back to the baseline for an unknown profile, and says so", () => {
    const result = validateConfig({
      broker: { url: "mqtts://localhost" },
      security: { trustStore: [pki.caFile], profile: "iec62351" },
    });
    expect(result.profile.id).toBe("baseline");
    expect(result.findings[0]).toMatchObject({ code: "FIELD_INVALID", path: "security.profile" });
  });

  it("never throws, whatever it is given", () => {
    const anything = fc.oneof(
      fc.anything(),
      fc.record({ broker: fc.anything(), security: fc.anything() }),
      fc.record({
        broker: fc.record({ url: fc.string() }),
        security: fc.dictionary(
          fc.constantFrom("trustStore", "keyStore", "crl", "pinnedCertificates", "enableTls", "serverName"),
          fc.anything(),
        ),
      }),
    );
    fc.assert(
      fc.property(anything, (input) => {
        const result = validateConfig(input, { baseDir: pki.dir });
        expect(Array.isArray(result.findings)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
