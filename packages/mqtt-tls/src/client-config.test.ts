import { loadConfig, type ResolvedConfig } from "@proj/security-config";
import createDebug from "debug";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertTlsAsConfigured,
  configForConnect,
  connectionChange,
  mqttClientOptions,
  reloadConfig,
} from "./client-config.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mqtt-tls-config-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const plain = (url = "mqtt://127.0.0.1:1883", broker: Record<string, unknown> = {}) => ({
  broker: { url, ...broker },
  security: { enableTls: false },
});

async function resolve(config: object): Promise<ResolvedConfig> {
  return (await loadConfig(config, { baseDir: dir })).resolved!;
}

describe("configForConnect", () => {
  it("refuses a configuration with errors (CONFIG_INVALID, the errors as findings) unless they are allowed", async () => {
    const withErrors = { broker: { url: "mqtt://localhost:1883" }, security: {} };
    const failure = await configForConnect(withErrors, {}).catch((error: unknown) => error);
    expect(failure).toMatchObject({
      name: "MqttTlsError",
      code: "CONFIG_INVALID",
      message: "the configuration has 2 error(s): URL_SCHEME_MISMATCH, TRUST_STORE_MISSING",
    });
    expect((failure as { findings: { code: string }[] }).findings.map((f) => f.code)).toEqual([
      "URL_SCHEME_MISMATCH",
      "TRUST_STORE_MISSING",
    ]);
    const allowed = await configForConnect(withErrors, { allowConfigErrors: true });
    expect(allowed.ok).toBe(false);
    expect(allowed.resolved.urls[0]!.raw).toBe("mqtt://localhost:1883");
  });

  it("uses a configuration already loaded, or the validation given, without reading it again", async () => {
    const loaded = await loadConfig(plain(), { baseDir: dir });
    expect(await configForConnect(loaded, {})).toBe(loaded);
    const missingFile = join(dir, "not-there.json");
    expect(await configForConnect(missingFile, { validation: loaded })).toBe(loaded);
  });
});

describe("reloadConfig", () => {
  it("reads a configuration from its file again, with the options it was loaded with", async () => {
    const file = join(dir, "plc.json");
    await writeFile(file, JSON.stringify(plain("mqtt://127.0.0.1:1883")));
    const loaded = await loadConfig(file);
    await writeFile(file, JSON.stringify(plain("mqtt://127.0.0.1:1884")));
    const again = await reloadConfig(loaded, {});
    expect(again.resolved?.urls[0]!.raw).toBe("mqtt://127.0.0.1:1884");
    expect((await reloadConfig(plain("mqtt://10.0.0.1"), {})).resolved?.urls[0]!.host).toBe("10.0.0.1");
  });
});

describe("connectionChange", () => {
  it("names what a reload may not change on a running client: the URL, TLS, the server check", async () => {
    const tls = (url: string, security: Record<string, unknown> = {}) => ({
      broker: { url },
      security: { trustStore: ["-----BEGIN CERTIFICATE-----"], ...security },
    });
    const current = await resolve(tls("mqtts://broker:8883"));
    expect(connectionChange(current, await resolve(tls("mqtts://broker:8883")))).toBeUndefined();
    const moved = connectionChange(current, await resolve(tls("mqtts://elsewhere:8883")));
    expect(moved).toMatchObject({ code: "FIELD_IGNORED", severity: "error" });
    expect(moved?.message).toBe(
      "A credential reload does not change the broker URL of a running client: the new value is not applied.",
    );
    const unchecked = connectionChange(
      current,
      await resolve(tls("mqtts://broker:8883", { checkServerCertificate: false })),
    );
    expect(unchecked).toMatchObject({ code: "SERVER_CERT_CHECK_DISABLED" });
    expect(unchecked?.message).toMatch(/does not change checkServerCertificate/);
    const off = connectionChange(
      await resolve(plain("mqtt://broker:1883")),
      await resolve({ broker: { url: "mqtt://broker:1883" }, security: { enableTls: true } }),
    );
    expect(off).toMatchObject({ code: "FIELD_IGNORED" });
    expect(off?.message).toMatch(/does not change enableTls/);
  });
});

describe("assertTlsAsConfigured", () => {
  it("refuses a URL whose scheme contradicts enableTls, either way", async () => {
    const plainUrl = await resolve({ broker: { url: "mqtt://broker" }, security: {} });
    expect(() => assertTlsAsConfigured(plainUrl)).toThrow(
      expect.objectContaining({
        code: "URL_SCHEME_MISMATCH",
        message:
          "The broker URL mqtt://broker:1883 is not TLS while the configuration asks for TLS: nothing is sent over it.",
      }),
    );
    const tlsUrl = await resolve({ broker: { url: "mqtts://broker" }, security: { enableTls: false } });
    expect(() => assertTlsAsConfigured(tlsUrl)).toThrow(
      expect.objectContaining({ code: "URL_SCHEME_MISMATCH", remedy: expect.stringMatching(/enableTls/) }),
    );
    expect(() => assertTlsAsConfigured(tlsUrl)).toThrow(/asks for TLS while enableTls is false/);
    expect(assertTlsAsConfigured(await resolve(plain()))).toBeUndefined();
  });
});

describe("mqttClientOptions", () => {
  it("takes the broker settings and leaves reconnecting, resubscribing and connecting to the client", async () => {
    const resolved = await resolve(
      plain("mqtt://127.0.0.1:1883", {
        clientId: "line1-plc",
        username: "plc",
        password: "s3cret",
        keepaliveSeconds: 15,
        connectTimeoutMs: 2500,
        cleanSession: false,
        protocolVersion: 5,
      }),
    );
    const options = mqttClientOptions(resolved);
    expect(options).toMatchObject({
      protocolVersion: 5,
      clientId: "line1-plc",
      username: "plc",
      keepalive: 15,
      clean: false,
      connectTimeout: 2500,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      manualConnect: true,
    });
    // As bytes, so that mqtt-packet's debug log does not print it.
    expect(options.password).toEqual(Buffer.from("s3cret"));
    expect(options.outgoingStore).toBeUndefined();
    expect(mqttClientOptions(await resolve(plain()))).not.toHaveProperty("clientId");
  });

  it("logs nothing unless mqtt.js's debug log is on, and then never the password", async () => {
    const resolved = await resolve(plain());
    const lines: string[] = [];
    const { log } = createDebug;
    createDebug.log = (...args: unknown[]) => void lines.push(args.map((a) => JSON.stringify(a)).join(" "));
    try {
      mqttClientOptions(resolved).log!("connect %o", { clientId: "x", password: "s3cret" });
      expect(lines).toEqual([]);
      createDebug.enable("mqttjs:client");
      mqttClientOptions(resolved).log!("connect %o", { clientId: "x", password: "s3cret" });
      expect(lines.join("\n")).toMatch(/\[redacted\]/);
      expect(lines.join("\n")).not.toMatch(/s3cret/);
    } finally {
      createDebug.disable();
      createDebug.log = log;
    }
  });
});
