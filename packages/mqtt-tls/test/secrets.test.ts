import { redact, validateConfig } from "@proj/security-config";
import { createTestPki, startTestBroker, type TestPki } from "@proj/test-broker";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSecure, formatSyslog, jsonLinesSink, probe, type SecurityEvent } from "../src/index.js";

/**
 * The secret scan: every scenario runs with known secret values (MQTT password, key passphrase, the key's own
 * bytes), and everything a user or a log can see is searched for them: errors, findings, diagnoses, probe
 * results, security events as JSON lines and as syslog, redacted configs.
 */
const PASSWORD = "Mqtt-Pw-7731-secret";
const PASSPHRASE = "Key-Pass-5519-secret";

let pki: TestPki;
let keyFile: string;
let keyLines: string[];
beforeAll(async () => {
  pki = await createTestPki({ name: "secrets" });
  const encrypted = pki.client.exportKey({ passphrase: PASSPHRASE });
  keyFile = join(pki.dir, "secret-client.key");
  await writeFile(keyFile, encrypted);
  keyLines = [pki.client.key, encrypted]
    .flatMap((pem) => pem.split("\n"))
    .filter((line) => line.length > 20 && !line.startsWith("-----"));
});
afterAll(() => pki.cleanup());

const env = { MQTT_PASSWORD: PASSWORD, KEY_PASSPHRASE: PASSPHRASE };
const config = (url: string, extra: Record<string, unknown> = {}) => ({
  broker: { url, username: "plc", password: "env:MQTT_PASSWORD", connectTimeoutMs: 3000 },
  security: {
    trustStore: [pki.caFile],
    sendClientCertificate: true,
    keyStore: { certificate: pki.client.files.chain, privateKey: keyFile, passphrase: "env:KEY_PASSPHRASE" },
    ...extra,
  },
});

describe("secret scan", () => {
  it("finds no password, passphrase or key bytes in anything the transport shows or logs", async () => {
    const seen: unknown[] = [];
    const events: SecurityEvent[] = [];
    const lines = new PassThrough();
    let jsonLines = "";
    lines.on("data", (chunk: Buffer) => (jsonLines += chunk.toString()));
    const sinks = [(e: SecurityEvent) => void events.push(e), jsonLinesSink(lines)];
    /** Runs a scenario, keeps all it shows for the scan, and returns its result or what it threw. */
    const capture = async (run: () => Promise<unknown>): Promise<unknown> => {
      try {
        const result = await run();
        seen.push(result);
        return result;
      } catch (error) {
        seen.push(error, (error as Error).message, (error as Error).stack);
        return error;
      }
    };
    const firstError = (outcome: unknown) =>
      (outcome as { findings: { code: string; severity: string }[] }).findings.find(
        (f) => f.severity === "error",
      );

    await using broker = await startTestBroker({ pki, requireClientCert: true, users: { plc: PASSWORD } });
    // Connected, with a diagnosis stream open.
    await capture(async () => {
      await using client = await connectSecure(config(broker.url), { env, securityEvents: sinks });
      client.on("diagnosis", (f) => seen.push(f));
      await client.publish("secrets/ok", "1", { qos: 1 });
      return client.tlsInfo;
    });
    // The broker refuses the password; a wrong passphrase; a missing one; a wrong CA; TLS to a plain port.
    const refused = await capture(() =>
      connectSecure(config(broker.url), {
        env: { ...env, MQTT_PASSWORD: `${PASSWORD}-wrong` },
        securityEvents: sinks,
      }),
    );
    const wrongPassphrase = await capture(() =>
      connectSecure(config(broker.url), { env: { ...env, KEY_PASSPHRASE: `${PASSPHRASE}-wrong` } }),
    );
    const noPassphrase = await capture(() =>
      connectSecure(config(broker.url), { env: { MQTT_PASSWORD: PASSWORD } }),
    );
    const wrongCa = await capture(() =>
      probe(config(broker.url, { trustStore: [pki.client.files.chain] }), { env }),
    );
    await using plain = await startTestBroker({ pki, plain: true });
    const plainPort = await capture(() =>
      probe(config(plain.plainUrl!.replace("mqtt://", "mqtts://")), { env }),
    );
    seen.push(validateConfig(config(broker.url), { env }).findings, redact(config(broker.url)));
    seen.push(...events.map((e) => formatSyslog(e, { appName: "mqtt-tls", hostname: "plc" })));

    const text =
      JSON.stringify(seen, (_k, v: unknown) =>
        v instanceof Error ? { ...v, message: v.message, stack: v.stack } : v,
      ) + jsonLines;
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(jsonLines).toContain("HANDSHAKE");
    for (const secret of [PASSWORD, PASSPHRASE, ...keyLines]) expect(text).not.toContain(secret);
    // And the scenarios did what they should, so the scan looked at real failures.
    expect(text).toMatch(/MQTT_CONNECT_REFUSED/);
    expect(text).toMatch(/KEY_PASSPHRASE_WRONG/);
    expect(text).toMatch(/KEY_ENCRYPTED_NO_PASSPHRASE|ENV_VAR_MISSING/);
    expect(text).toMatch(/SERVER_CERT_UNTRUSTED/);
    // Each failure leads with its cause.
    expect(firstError(refused)).toMatchObject({ code: "MQTT_CONNECT_REFUSED" });
    expect(firstError(wrongPassphrase)).toMatchObject({ code: "KEY_PASSPHRASE_WRONG" });
    expect(firstError(noPassphrase)).toMatchObject({
      code: "ENV_VAR_MISSING",
      path: "security.keyStore.passphrase",
    });
    expect(firstError(wrongCa)).toMatchObject({ code: "SERVER_CERT_UNTRUSTED" });
    expect(firstError(plainPort)).toMatchObject({ code: "NOT_TLS" });
  });
});
