import { createTestPki, startTestBroker, type TestPki } from "@proj/test-broker";
import { readFile, rm, writeFile } from "node:fs/promises";
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBin } from "./run-bin.js";

/**
 * What a user reads first: `doctor` leads with the cause (ARCHITECTURE.md). Each scenario asserts the first error of the
 * report, not only that a code is somewhere in it, and that the consequences point to their cause.
 */
interface Finding {
  code: string;
  severity: "error" | "warning" | "info";
  path?: string;
  message: string;
  remedy?: string;
  causedBy?: string;
}
interface Report {
  ok: boolean;
  findings: Finding[];
  connection?: { attempted: boolean; connected: boolean };
}

const PASSWORD = "pw-lead-Q93-never-sent";
let pki: TestPki;

beforeAll(async () => {
  pki = await createTestPki({ name: "cli-report", keyType: "rsa2048", intermediate: true });
});
afterAll(() => pki.cleanup());

async function writeConfig(name: string, config: Record<string, unknown>): Promise<string> {
  const file = join(pki.dir, `${name}.json`);
  await writeFile(file, JSON.stringify(config));
  return file;
}

function mutual(url: string, security: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    broker: { url, clientId: "plc-report" },
    security: {
      trustStore: [pki.caFile],
      sendClientCertificate: true,
      keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
      ...security,
    },
  };
}

async function doctor(
  file: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; report: Report }> {
  const result = await runBin(["doctor", "-c", file, "--json"], { cwd: pki.dir, env });
  return { code: result.code, report: JSON.parse(result.stdout) as Report };
}

const firstError = (report: Report) => report.findings.find((f) => f.severity === "error");
const refusals = (report: Report) =>
  report.findings.filter((f) => f.code === "CLIENT_CERT_REJECTED" || f.code === "CLIENT_CERT_REQUIRED");

describe("doctor leads with the cause", () => {
  it("reads the configuration and each file it names exactly once", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const file = await writeConfig("read-once", mutual(broker.url));
    const log = join(pki.dir, "reads.json");
    const preload = fileURLToPath(new URL("fixtures/count-reads.mjs", import.meta.url));
    const { code, report } = await doctor(file, {
      NODE_OPTIONS: `--import=${preload}`,
      MQTT_TLS_READ_ROOT: pki.dir,
      MQTT_TLS_READ_LOG: log,
    });
    expect(report.connection).toMatchObject({ connected: true });
    expect(code).toBe(0);
    const reads = JSON.parse(await readFile(log, "utf8")) as string[];
    await rm(log);
    const count = (path: string) => reads.filter((r) => r === path).length;
    expect(count(file)).toBe(1);
    expect(count(pki.caFile)).toBe(1);
    expect(count(pki.client.files.chain)).toBe(1);
    expect(count(pki.client.files.key)).toBe(1);
    expect(reads).toHaveLength(4);
  });

  it("a misspelt trustStor: the field meant, then the missing trust store, then the untrusted broker", async () => {
    await using broker = await startTestBroker({ pki });
    const config = mutual(broker.url, { trustStore: undefined, trustStor: [pki.caFile] });
    const { code, report } = await doctor(await writeConfig("misspelt", config));
    expect(code).toBe(1);
    expect(report.findings[0]).toMatchObject({
      code: "UNKNOWN_FIELD",
      severity: "error",
      path: "security.trustStor",
    });
    expect(report.findings[0]!.message).toContain("did you mean trustStore?");
    expect(report.findings[1]).toMatchObject({ code: "TRUST_STORE_MISSING", causedBy: "UNKNOWN_FIELD" });
    expect(report.findings.find((f) => f.code === "SERVER_CERT_UNTRUSTED")).toMatchObject({
      causedBy: "TRUST_STORE_MISSING",
    });
  });

  it("a missing trust-store file: one cause, its consequences under it", async () => {
    await using broker = await startTestBroker({ pki });
    const { report } = await doctor(
      await writeConfig("no-ca", mutual(broker.url, { trustStore: ["gone.pem"] })),
    );
    expect(firstError(report)).toMatchObject({ code: "FILE_NOT_FOUND", path: "security.trustStore[0]" });
    const consequences = report.findings.filter((f) => f.causedBy !== undefined).map((f) => f.code);
    expect(consequences).toEqual(expect.arrayContaining(["TRUST_STORE_EMPTY", "SERVER_CERT_UNTRUSTED"]));
    expect(report.findings.filter((f) => f.severity === "error" && f.causedBy === undefined)).toHaveLength(1);
  });

  it("a key that is not the certificate's: KEY_CERT_MISMATCH, and no misleading refusal by the broker", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const other = await pki.issueClient({ name: "other-plc", keySlot: "report-other" });
    const config = mutual(broker.url, {
      keyStore: { certificate: pki.client.files.chain, privateKey: other.files.key },
    });
    const { report } = await doctor(await writeConfig("mismatch", config));
    expect(firstError(report)).toMatchObject({ code: "KEY_CERT_MISMATCH" });
    expect(report.findings.map((f) => f.code)).not.toContain("CLIENT_CERT_REJECTED");
  });

  it("an encrypted key with a wrong passphrase, and without one: the key is the cause", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const keyFile = join(pki.dir, "report-encrypted.key");
    await writeFile(keyFile, pki.client.exportKey({ passphrase: "right-Passphrase-1" }));
    const base = { certificate: pki.client.files.chain, privateKey: keyFile };
    const wrong = await doctor(
      await writeConfig("wrong-pass", mutual(broker.url, { keyStore: { ...base, passphrase: "env:KP" } })),
      { KP: "wrong-Passphrase-2" },
    );
    expect(firstError(wrong.report)).toMatchObject({ code: "KEY_PASSPHRASE_WRONG" });
    // The broker may still be tried (its certificate is checked), but a refusal is shown as what follows.
    expect(refusals(wrong.report).every((f) => f.causedBy === "KEY_PASSPHRASE_WRONG")).toBe(true);
    expect(wrong.report.findings.filter((f) => f.severity === "error" && !f.causedBy)).toHaveLength(1);
    const none = await doctor(await writeConfig("no-pass", mutual(broker.url, { keyStore: base })));
    expect(firstError(none.report)).toMatchObject({ code: "KEY_ENCRYPTED_NO_PASSPHRASE" });
    expect(refusals(none.report).every((f) => f.causedBy === "KEY_ENCRYPTED_NO_PASSPHRASE")).toBe(true);
    expect(none.report.findings.filter((f) => f.severity === "error" && !f.causedBy)).toHaveLength(1);
  });

  it("no client certificate where the broker requires one: the setting to change leads", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const config = mutual(broker.url, { sendClientCertificate: false, keyStore: undefined });
    const { report } = await doctor(await writeConfig("no-client-cert", config));
    expect(firstError(report)).toMatchObject({ code: "CLIENT_CERT_DISABLED" });
    expect(report.findings[1]).toMatchObject({
      code: "CLIENT_CERT_REQUIRED",
      causedBy: "CLIENT_CERT_DISABLED",
    });
  });

  it("a client chain in the wrong order is sent in the right one; the order is the one finding", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const reversed = join(pki.dir, "reversed-chain.pem");
    await writeFile(reversed, pki.intermediate!.cert + pki.client.cert);
    const config = mutual(broker.url, {
      keyStore: { certificate: reversed, privateKey: pki.client.files.key },
    });
    const { code, report } = await doctor(await writeConfig("reversed", config));
    expect(report.findings.map((f) => f.code)).toEqual(["CHAIN_ORDER"]);
    expect(report.connection).toMatchObject({ connected: true });
    expect(code).toBe(0);
  });

  it("TLS off with an mqtts:// URL, and TLS on with an mqtt:// URL: the contradiction leads, nothing is sent", async () => {
    const recorder = createServer();
    const received: Buffer[] = [];
    recorder.on("connection", (socket) => socket.on("data", (chunk: Buffer) => received.push(chunk)));
    recorder.listen(0, "127.0.0.1");
    await once(recorder, "listening");
    const port = (recorder.address() as AddressInfo).port;
    try {
      const off = await doctor(
        await writeConfig("tls-off", {
          broker: { url: `mqtts://127.0.0.1:${port}` },
          security: { enableTls: false },
        }),
      );
      expect(firstError(off.report)).toMatchObject({ code: "URL_SCHEME_MISMATCH" });
      expect(off.report.connection).toMatchObject({ attempted: false });
      const plain = await doctor(
        await writeConfig("plain-url", {
          broker: { url: `mqtt://127.0.0.1:${port}`, username: "plc", password: "env:MQTT_PASSWORD" },
          security: { trustStore: [pki.caFile] },
        }),
        { MQTT_PASSWORD: PASSWORD },
      );
      expect(firstError(plain.report)).toMatchObject({ code: "URL_SCHEME_MISMATCH" });
      expect(plain.report.connection).toMatchObject({ attempted: false });
      expect(Buffer.concat(received).toString("latin1")).not.toContain(PASSWORD);
      expect(received).toHaveLength(0);
    } finally {
      recorder.close();
    }
  });
});
