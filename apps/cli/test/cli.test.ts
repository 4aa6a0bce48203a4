import {
  createTestPki,
  mosquittoSkipReason,
  startMosquitto,
  startTestBroker,
  type TestPki,
} from "@proj/test-broker";
import mqtt from "mqtt";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonDocument } from "./json-document.js";
import { BIN, freePort, runBin, startBin } from "./run-bin.js";

interface Finding {
  code: string;
  severity: "error" | "warning" | "info";
  path?: string;
  causedBy?: string;
}
/** The first error of a `doctor --json` report: the cause, what a user fixes first. */
const firstError = (doc: Record<string, unknown>) =>
  (doc.findings as Finding[]).find((f) => f.severity === "error");
/** The first error of a report printed as text (its "Errors (n)" group comes first). */
const firstErrorInText = (text: string) => /^ *Errors \(\d+\)\n *✖ (\w+)/m.exec(text)?.[1];

const PASSWORD = "pw-Zx81-never-print";
const KEY_PASSPHRASE = "kp-Q7-never-print";
const secretsOf = (keyPem: string) => [
  PASSWORD,
  KEY_PASSPHRASE,
  // Any line of key material.
  ...keyPem.split("\n").filter((line) => line.length > 20 && !line.startsWith("-----")),
];

let pki: TestPki;
let other: TestPki;
let work: string;
let secretLines: string[];
const env = { MQTT_PASSWORD: PASSWORD, KEY_PASSPHRASE, NO_COLOR: "" };

beforeAll(async () => {
  pki = await createTestPki({ name: "cli", keyType: "rsa2048", intermediate: true });
  other = await createTestPki({ name: "cli-other" });
  work = await mkdtemp(join(tmpdir(), "mqtt-tls-cli-"));
  const encrypted = pki.client.exportKey({ passphrase: KEY_PASSPHRASE });
  await writeFile(join(work, "client-encrypted.key"), encrypted);
  secretLines = [...secretsOf(pki.client.key), ...secretsOf(encrypted)];
});
afterAll(async () => {
  await pki.cleanup();
  await other.cleanup();
  await rm(work, { recursive: true, force: true });
});

/** Every output a test produced, to scan for secrets at the end. */
const outputs: string[] = [];
async function mqttTls(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = await runBin(args, { cwd: options.cwd ?? work, env: { ...env, ...options.env } });
  outputs.push(result.stdout, result.stderr);
  return result;
}

/** What the test broker presents and trusts, from a lab CA folder made by `pki init` and `pki issue server localhost`. */
async function labBrokerPki(dir: string) {
  const read = (name: string) => readFile(join(dir, name), "utf8");
  return {
    server: { chain: await read("localhost-chain.crt"), key: await read("localhost.key") },
    root: { cert: await read("ca.crt") },
    intermediate: { cert: await read("intermediate-ca.crt") },
  };
}

async function writeConfig(
  name: string,
  url: string,
  security: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) {
  const file = join(work, `${name}.json`);
  await writeFile(
    file,
    JSON.stringify({
      broker: { url, clientId: name, username: "plc", password: "env:MQTT_PASSWORD" },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: {
          certificate: pki.client.files.chain,
          privateKey: join(work, "client-encrypted.key"),
          passphrase: "env:KEY_PASSPHRASE",
        },
        ...security,
      },
      ...extra,
    }),
  );
  return file;
}

describe("mqtt-tls --help", () => {
  const commands = [
    [],
    ["doctor"],
    ["inspect"],
    ["pki"],
    ["pki", "init"],
    ["pki", "issue"],
    ["pki", "revoke"],
    ["pki", "crl"],
    ["audit"],
    ["rotate"],
    ["store", "add"],
    ["store", "list"],
    ["store", "show"],
    ["store", "export"],
    ["store", "rm"],
    ["pub"],
    ["sub"],
    ["broker"],
    ["mosquitto-conf"],
    ["devices"],
    ["demo"],
  ];
  it.each(commands.map((c) => [c.join(" ") || "(root)", c] as const))(
    "%s has help with examples",
    async (_name, command) => {
      const { code, stdout } = await mqttTls([...command, "--help"]);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Usage: mqtt-tls/);
      if (command.join(" ") !== "pki") expect(stdout).toContain("Examples:\n  $ mqtt-tls");
    },
  );

  it("ends quietly when its reader closes the pipe early", async () => {
    const { stdout, stderr } = await promisify(execFile)("sh", [
      "-c",
      `"${process.execPath}" "${BIN}" devices | head -n 1`,
    ]);
    expect(stdout).toMatch(/^altus-nexto/);
    expect(stderr).toBe("");
  });

  it("exits 2 on a usage error, and names it", async () => {
    expect((await mqttTls(["doctor"])).code).toBe(2);
    const unknown = await mqttTls(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    expect((await mqttTls(["pki", "issue", "router", "--dir", work, "--name", "x"])).code).toBe(2);
  });
});

describe("mqtt-tls doctor", () => {
  it("passes a good mutual-TLS config against the embedded broker, with the documented JSON", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const config = await writeConfig("good", broker.url);
    const human = await mqttTls(["doctor", "-c", config]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/✔ Connected to mqtts:\/\/127\.0\.0\.1:\d+ in \d+ ms: TLSv1\.3/);
    expect(human.stdout).toContain("OK: no problems.");
    expect(human.stderr).toMatch(/Connecting to .* \(deadline 10 s\)/);
    expect(human.stdout).not.toContain("\u001b["); // not a terminal: no colour
    const json = await mqttTls(["doctor", "-c", config, "--json"]);
    expect(json.code).toBe(0);
    expect(jsonDocument(json.stdout)).toMatchObject({
      ok: true,
      findings: [],
      connection: { attempted: true, connected: true, tlsVersion: "TLSv1.3", serverChain: expect.any(Array) },
    });
  });

  it("names a wrong CA (exit 1) and an unreadable config (exit 2), in JSON too", async () => {
    await using broker = await startTestBroker({ pki });
    const wrongCa = await writeConfig("wrong-ca", broker.url, {
      trustStore: [other.caFile],
      sendClientCertificate: false,
      keyStore: undefined,
    });
    const result = await mqttTls(["doctor", "-c", wrongCa, "--json"]);
    expect(result.code).toBe(1);
    const doc = jsonDocument(result.stdout);
    expect(doc).toMatchObject({ ok: false, connection: { attempted: true, connected: false } });
    const errors = (doc.findings as { code: string; severity: string }[]).filter(
      (f) => f.severity === "error",
    );
    expect(errors.map((f) => f.code)).toEqual(["SERVER_CERT_UNTRUSTED"]);
    const missing = await mqttTls(["doctor", "-c", "no-such.json", "--json"]);
    expect(missing.code).toBe(2);
    expect(jsonDocument(missing.stdout)).toMatchObject({ ok: false, findings: [{ code: "FILE_NOT_FOUND" }] });
    await writeFile(join(work, "broken.json"), "{ not json");
    const broken = await mqttTls(["doctor", "-c", "broken.json"]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/broken\.json is not valid JSON: line 1, column 3/);
    expect(broken.stderr).toMatch(/Correct the JSON at that line and column/);
  });

  it("predicts offline that a Nexto cannot reach a TLS-1.3-only broker, and the live check as the PLC confirms it", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true, minVersion: "TLSv1.3" });
    const config = await writeConfig("tls13", broker.url, { minTlsVersion: "TLSv1.3" });
    const offline = await mqttTls(["doctor", "-c", config, "--device", "altus-nexto", "--offline", "--json"]);
    expect(offline.code).toBe(1);
    const doc = jsonDocument(offline.stdout);
    expect(doc.connection).toBeUndefined();
    expect(doc.findings).toContainEqual(
      expect.objectContaining({
        code: "DEVICE_UNSUPPORTED",
        path: "security.minTlsVersion",
        severity: "error",
      }),
    );
    expect(firstError(doc)).toMatchObject({ code: "DEVICE_UNSUPPORTED", path: "security.minTlsVersion" });
    const online = await mqttTls(["doctor", "-c", config, "--device", "altus-nexto"]);
    expect(online.code).toBe(1);
    expect(online.stdout).toMatch(/DEVICE_UNSUPPORTED[\s\S]*TLS_VERSION_MISMATCH/);
    // The device's limit leads; the live failure follows from it.
    expect(firstErrorInText(online.stdout)).toBe("DEVICE_UNSUPPORTED");
    expect(online.stdout).toMatch(/TLS_VERSION_MISMATCH {2}\(follows from DEVICE_UNSUPPORTED\)/);
    expect(online.stderr).toContain("as Altus Nexto would");
    // Without the device, the same config connects: the broker is fine, the PLC is not.
    expect((await mqttTls(["doctor", "-c", config])).code).toBe(0);
    const unknown = await mqttTls(["doctor", "-c", config, "--device", "acme-plc"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/there is no device "acme-plc"[\s\S]*altus-nexto/);
  });

  it("names a wrong key passphrase without printing it", async () => {
    const config = await writeConfig("bad-pass", "mqtts://127.0.0.1:1", {});
    const result = await mqttTls(["doctor", "-c", config, "--offline"], {
      env: { KEY_PASSPHRASE: "wrong-Passphrase-77" },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("KEY_PASSPHRASE_WRONG");
    expect(result.stdout + result.stderr).not.toContain("wrong-Passphrase-77");
  });

  it.skipIf(mosquittoSkipReason())(
    "passes against Mosquitto and names an expired client certificate there",
    async () => {
      await using mosquitto = await startMosquitto({ pki, requireCertificate: true });
      const good = await mqttTls(["doctor", "-c", await writeConfig("mosq-good", mosquitto.url)]);
      expect(good.code).toBe(0);
      const expired = await pki.issueClient({ name: "expired-plc", expired: true });
      const result = await mqttTls([
        "doctor",
        "--json",
        "-c",
        await writeConfig("mosq-expired", mosquitto.url, {
          keyStore: { certificate: expired.files.chain, privateKey: expired.files.key },
        }),
      ]);
      expect(result.code).toBe(1);
      const doc = jsonDocument(result.stdout);
      const codes = (doc.findings as Finding[]).map((f) => f.code);
      expect(codes).toEqual(expect.arrayContaining(["CERT_EXPIRED", "CLIENT_CERT_REJECTED"]));
      // The expired certificate is the cause; the broker's refusal follows from it.
      expect(firstError(doc)).toMatchObject({ code: "CERT_EXPIRED", path: "security.keyStore" });
      expect((doc.findings as Finding[]).find((f) => f.code === "CLIENT_CERT_REJECTED")).toMatchObject({
        causedBy: "CERT_EXPIRED",
      });
    },
  );
});

describe("mqtt-tls inspect", () => {
  it("shows a bundle as a chain, with its order, and the key it matches", async () => {
    const reversed = join(work, "reversed.pem");
    await writeFile(reversed, pki.intermediate!.cert + pki.client.cert);
    const result = await mqttTls(["inspect", reversed, pki.client.files.key]);
    expect(result.code).toBe(0); // out of order is a warning: OpenSSL reorders, some devices do not
    expect(result.stdout).toMatch(/Warnings \(\d\)\n\s+▲ CHAIN_ORDER/);
    expect(result.stdout).toMatch(
      /Chain \(out of order in the file\)\n\s+CN=client[^\n]*\n\s+↑ CN=cli Intermediate CA/,
    );
    expect(result.stdout).toMatch(/Matches\s+CN=client/);
    const inOrder = await mqttTls(["inspect", pki.client.files.chain, "--json"]);
    expect(inOrder.code).toBe(0);
    const doc = jsonDocument(inOrder.stdout);
    expect(doc.files).toEqual([
      expect.objectContaining({
        format: "pem",
        chain: {
          order: [expect.stringContaining("CN=client"), expect.stringContaining("Intermediate")],
          inOrder: true,
        },
      }),
    ]);
    // The missing root of a peer chain is a note, not an error.
    expect(doc.findings).toEqual([expect.objectContaining({ code: "CHAIN_INCOMPLETE", severity: "info" })]);
  });

  it("reads DER, PKCS#12 (with --passphrase env:NAME) and CRLs", async () => {
    const der = join(work, "root.der");
    await writeFile(der, pki.root.certDer);
    const p12 = await pki.client.writeFile(
      "client.p12",
      pki.client.toPkcs12({ passphrase: "p12-Secret-55" }),
    );
    const crl = await pki.createCrl({ revoke: [pki.client] });
    const result = await mqttTls(["inspect", der, p12, crl.file, "--passphrase", "env:P12_PASS", "--json"], {
      env: { P12_PASS: "p12-Secret-55" },
    });
    expect(result.code).toBe(0);
    const files = jsonDocument(result.stdout).files as {
      format: string;
      certificates: unknown[];
      keys: { matches?: string }[];
      crls: { revoked: number }[];
    }[];
    expect(files.map((f) => f.format)).toEqual(["der", "pkcs12", "pem"]);
    expect(files[0]!.certificates).toHaveLength(1);
    expect(files[1]!.keys[0]!.matches).toContain("CN=client");
    expect(files[2]!.crls[0]!.revoked).toBe(1);
    expect(result.stdout).not.toContain("p12-Secret-55");
    // Without its passphrase a PKCS#12 bundle is what an encrypted key is: not read, a warning, not a failure.
    const locked = await mqttTls(["inspect", p12, join(work, "client-encrypted.key")]);
    expect(locked.code).toBe(0);
    expect(locked.stdout.match(/▲ KEY_ENCRYPTED_NO_PASSPHRASE/g)).toHaveLength(2);
    const missing = await mqttTls(["inspect", "nope.pem"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("FILE_NOT_FOUND");
  });
});

describe("mqtt-tls pki, broker, pub and sub", () => {
  it("makes a CA and leaves in every key type, keys at 0600, and refuses to overwrite or issue without a CA", async () => {
    for (const key of ["rsa2048", "ec-p384", "ed25519"]) {
      const dir = join(work, `pki-${key}`);
      const init = await mqttTls(["pki", "init", "--dir", dir, "--key", key, "--json"]);
      expect(init.code).toBe(0);
      expect(jsonDocument(init.stdout)).toMatchObject({ ok: true, pki: { keyType: key } });
      expect(init.stderr).toContain(`Generating the root CA key (${key})`);
      const server = await mqttTls([
        "pki",
        "issue",
        "server",
        "--dir",
        dir,
        "--name",
        "broker.plant.local",
        "--ip",
        "10.0.0.5",
      ]);
      expect(server.code).toBe(0);
      expect(server.stdout).toMatch(/names {2}DNS:broker\.plant\.local, IP:10\.0\.0\.5/);
      expect(server.stdout).toContain("require_certificate true");
      for (const file of ["ca.key", "intermediate-ca.key", "broker.plant.local.key"])
        expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
      const inspected = await mqttTls(["inspect", join(dir, "broker.plant.local-chain.crt"), "--json"]);
      const [cert] = (
        jsonDocument(inspected.stdout).files as {
          certificates: { extKeyUsage: string[]; subjectAltNames: unknown }[];
        }[]
      )[0]!.certificates;
      expect(cert).toMatchObject({
        extKeyUsage: ["serverAuth"],
        subjectAltNames: { dns: ["broker.plant.local"], ip: ["10.0.0.5"] },
      });
    }
    expect((await mqttTls(["pki", "init", "--dir", join(work, "pki-ed25519")])).code).toBe(2);
    const noCa = await mqttTls(["pki", "issue", "client", "--dir", join(work, "empty"), "--name", "x"]);
    expect(noCa.code).toBe(2);
    expect(noCa.stderr).toContain("mqtt-tls pki init --dir");
  });

  it("revokes a lab client, writes the CRL, and doctor against a broker holding it names the certificate revoked", async () => {
    const dir = join(work, "revoking");
    expect((await mqttTls(["pki", "init", "--dir", dir])).code).toBe(0);
    const server = ["pki", "issue", "server", "--dir", dir, "--name", "localhost", "--ip", "127.0.0.1"];
    expect((await mqttTls(server)).code).toBe(0);
    expect((await mqttTls(["pki", "issue", "client", "--dir", dir, "--name", "plc7"])).code).toBe(0);
    expect((await mqttTls(["pki", "revoke", "--dir", dir])).code).toBe(2); // neither --name nor --serial
    expect((await mqttTls(["pki", "revoke", "--dir", dir, "--name", "plc99"])).code).toBe(2);

    const revoke = await mqttTls([
      "pki",
      "revoke",
      "--dir",
      dir,
      "--name",
      "plc7",
      "--reason",
      "keyCompromise",
      "--json",
    ]);
    expect(revoke.code).toBe(0);
    const serial = new X509Certificate(await readFile(join(dir, "plc7.crt"))).serialNumber.toUpperCase();
    expect(jsonDocument(revoke.stdout)).toMatchObject({
      ok: true,
      revoked: [{ serial, name: "plc7", reason: "keyCompromise" }],
    });
    const crl = await mqttTls(["pki", "crl", "--dir", dir, "--days", "3", "--json"]);
    expect(jsonDocument(crl.stdout)).toMatchObject({ ok: true, crl: { revoked: [serial] } });

    await using broker = await startTestBroker({
      pki: await labBrokerPki(dir),
      requireClientCert: true,
      crl: { pem: await readFile(join(dir, "crl.pem"), "utf8") },
    });
    const config = join(dir, "plc7.json");
    await writeFile(
      config,
      JSON.stringify({
        broker: { url: broker.url, clientId: "plc7" },
        security: {
          trustStore: ["ca.crt"],
          sendClientCertificate: true,
          keyStore: { certificate: "plc7-chain.crt", privateKey: "plc7.key" },
        },
      }),
    );
    const doctor = await mqttTls(["doctor", "-c", config, "--json"]);
    expect(doctor.code).toBe(1);
    expect(firstError(jsonDocument(doctor.stdout))).toMatchObject({ code: "CLIENT_CERT_REVOKED" });
    expect(broker.handshakeFailures.map((f) => f.code)).toContain("CERT_REVOKED");
  });

  it("runs the dev broker from a lab PKI, prints each client's identity, and carries pub to sub", async () => {
    const dir = join(work, "lab");
    expect((await mqttTls(["pki", "init", "--dir", dir, "--key", "ec-p256"])).code).toBe(0);
    expect((await mqttTls(["pki", "issue", "client", "--dir", dir, "--name", "line1-plc"])).code).toBe(0);
    await using broker = startBin(["broker", "--pki", dir, "--require-client-cert", "--duration", "60"], {
      cwd: work,
    });
    const [, url] = await broker.waitFor(/listening on (mqtts:\/\/127\.0\.0\.1:\d+)/);
    const config = join(dir, "line1-plc.json");
    await writeFile(
      config,
      JSON.stringify({
        broker: { url, clientId: "line1-plc" },
        security: {
          trustStore: ["ca.crt"],
          sendClientCertificate: true,
          keyStore: { certificate: "line1-plc-chain.crt", privateKey: "line1-plc.key" },
        },
      }),
    );
    await using subscriber = startBin(
      ["sub", "-c", config, "-t", "plant/#", "--count", "2", "--timeout", "20", "--client-id", "scada"],
      {
        cwd: work,
      },
    );
    await subscriber.waitFor(/subscribed to plant\/#/);
    for (const value of ["72.4", "73.1"]) {
      const published = await mqttTls([
        "pub",
        "-c",
        config,
        "-t",
        "plant/line1/level",
        "-m",
        value,
        "--qos",
        "1",
      ]);
      expect(published.code).toBe(0);
      expect(published.stdout).toMatch(/published 4 bytes to plant\/line1\/level \(QoS 1\)/);
    }
    expect(await subscriber.exited).toBe(0);
    expect(subscriber.output()).toMatch(/plant\/line1\/level 72\.4\nplant\/line1\/level 73\.1/);
    await broker.waitFor(/\+ line1-plc connected over TLSv1\.3 .*certificate CN=line1-plc, serial [0-9A-F]+/);
    const anonymous = await mqttTls([
      "pub",
      "-c",
      await writeConfig("anon", url!, {
        trustStore: [join(dir, "ca.crt")],
        sendClientCertificate: false,
        keyStore: undefined,
      }),
      "-t",
      "x",
      "-m",
      "y",
    ]);
    expect(anonymous.code).toBe(1);
    expect(firstErrorInText(anonymous.stderr)).toBe("CLIENT_CERT_DISABLED");
    expect(anonymous.stderr).toMatch(/CLIENT_CERT_REQUIRED {2}\(follows from CLIENT_CERT_DISABLED\)/);
    await broker.waitFor(/refused a TLS client: NO_CLIENT_CERTIFICATE/);
    broker.child.kill("SIGTERM");
    expect(await broker.exited).toBe(0);
    expect(broker.output()).toContain("broker stopped");
    outputs.push(broker.output(), subscriber.output());
  });

  it.skipIf(mosquittoSkipReason())("publishes and subscribes through Mosquitto", async () => {
    await using mosquitto = await startMosquitto({ pki, requireCertificate: true });
    const config = await writeConfig("mosq-pubsub", mosquitto.url);
    await using subscriber = startBin(
      ["sub", "-c", config, "-t", "line1/#", "--count", "1", "--timeout", "20", "--client-id", "scada"],
      {
        cwd: work,
        env,
      },
    );
    await subscriber.waitFor(/subscribed/);
    expect(
      (await mqttTls(["pub", "-c", config, "-t", "line1/state", "-m", "RUNNING", "--qos", "1"])).code,
    ).toBe(0);
    expect(await subscriber.exited).toBe(0);
    expect(subscriber.output()).toContain("line1/state RUNNING");
    outputs.push(subscriber.output());
    const timedOut = await mqttTls(["sub", "-c", config, "-t", "silent/#", "--count", "1", "--timeout", "1"]);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toContain("received 0 of 1 message(s) within 1 s");
  });
});

describe("mqtt-tls fleet", () => {
  it("runs a small fleet with one certificate per device and reports what it measured", async () => {
    const dir = join(work, "fleet-pki");
    expect((await mqttTls(["pki", "init", "--dir", dir])).code).toBe(0);
    const ca = await readFile(join(dir, "ca.crt"), "utf8");
    const intermediate = await readFile(join(dir, "intermediate-ca.crt"), "utf8");
    await using broker = await startTestBroker({
      pki,
      requireClientCert: true,
      bindClientIdToCn: true,
      clientCa: [ca, intermediate],
    });
    const config = join(work, "fleet.json");
    await writeFile(
      config,
      JSON.stringify({ broker: { url: broker.url }, security: { trustStore: [pki.caFile] } }),
    );
    const result = await mqttTls([
      "fleet",
      "-c",
      config,
      "--pki",
      dir,
      "--devices",
      "20",
      "--rate",
      "5",
      "--ramp",
      "1",
      "--duration",
      "2",
      "--reconnect",
      "--json",
    ]);
    expect(result.code).toBe(0);
    const { fleet } = jsonDocument(result.stdout) as {
      fleet: {
        connected: number;
        messages: number;
        failures: object;
        connectMs: { p50: number };
        reconnectAllMs?: number;
        reconnects: { count: number; stillDown: number };
        received?: number;
        lost?: number;
      };
    };
    // After the reconnect wave every device resumed its TLS session.
    expect(fleet).toMatchObject({ connected: 20, failures: {}, sessionReuse: { resumed: 20, total: 20 } });
    expect(fleet.reconnectAllMs).toBeGreaterThan(0);
    // 20 devices × 5 a second × 2 s: each sends at once, then every 200 ms, 10 in all.
    expect(fleet.messages).toBe(20 * 5 * 2);
    expect(fleet.connectMs.p50).toBeGreaterThan(0);
    // The monitor subscriber saw every message of the run; every device came back after the drop.
    expect(fleet).toMatchObject({ received: 200, lost: 0, reconnects: { count: 20, stillDown: 0 } });
    // Each device had its own certificate: the broker bound every clientId to its CN (and the monitor's).
    const identities = new Set(broker.connections.map((c) => c.certificate?.subjectCn));
    expect([...identities].filter((cn) => cn?.startsWith("fleet-0")).length).toBe(20);
    expect(identities).toContain("fleet-monitor");
    expect(result.stderr).toContain("[##############################] 20/20");
  });
});

describe("mqtt-tls store", () => {
  const STORE_PASSPHRASE = "store-pass-Hy6-never-print";
  it("adds, lists, shows, exports and removes items; doctor reads store:NAME and connects with it", async () => {
    secretLines.push(STORE_PASSPHRASE);
    const storeFile = join(work, "plant-store.db");
    const withStore = { MQTT_TLS_STORE: storeFile, MQTT_TLS_STORE_PASSPHRASE: STORE_PASSPHRASE };
    const run = (args: string[], extra: NodeJS.ProcessEnv = withStore) => mqttTls(args, { env: extra });

    const ca = await run(["store", "add", "broker-ca", "--cert", pki.caFile, "--json"]);
    expect(jsonDocument(ca.stdout)).toMatchObject({
      ok: true,
      item: { name: "broker-ca", kind: "certificate", hasKey: false },
    });
    const encrypted = join(work, "client-encrypted.key");
    const plc = await run(
      [
        "store",
        "add",
        "line1-plc",
        "--cert",
        pki.client.files.chain,
        "--key",
        encrypted,
        "--passphrase-env",
        "KEY_PASSPHRASE",
        "--json",
      ],
      { ...withStore, KEY_PASSPHRASE },
    );
    expect(jsonDocument(plc.stdout)).toMatchObject({
      item: { kind: "certificate-and-key", version: 1, hasKey: true },
    });
    await run(["store", "add", "line1-plc", "--cert", pki.client.files.chain, "--key", pki.client.files.key]);
    const list = jsonDocument((await run(["store", "list", "--json"])).stdout);
    expect((list.items as { name: string; version: number }[]).map((i) => [i.name, i.version])).toEqual([
      ["broker-ca", 1],
      ["line1-plc", 2],
    ]);
    expect(jsonDocument((await run(["store", "show", "line1-plc", "--json"])).stdout)).toMatchObject({
      item: {
        versions: [1, 2],
        certificates: [{ serial: pki.client.serial }, { serial: pki.intermediate!.serial }],
      },
    });
    expect((await stat(storeFile)).mode & 0o777).toBe(0o600);

    const out = join(work, "exported");
    const exported = jsonDocument(
      (await run(["store", "export", "line1-plc", "--out", out, "--json"])).stdout,
    );
    expect(exported.written).toEqual([
      { path: join(out, "line1-plc-chain.crt"), secret: false },
      { path: join(out, "line1-plc.key"), secret: true },
    ]);
    expect((await stat(join(out, "line1-plc.key"))).mode & 0o777).toBe(0o600);
    expect(
      (
        await run(["store", "export", "line1-plc", "--out", out, "--format", "p12"], {
          ...withStore,
          P12_PASSPHRASE: "p12",
        })
      ).code,
    ).toBe(0);
    // The files a device's engineering tool takes, named and encoded as it wants them.
    const nextoDir = join(work, "nexto-files");
    const device = jsonDocument(
      (
        await run([
          "store",
          "export",
          "line1-plc",
          "--out",
          nextoDir,
          "--format",
          "device",
          "--device",
          "altus-nexto",
          "--trust",
          "broker-ca",
          "--json",
        ])
      ).stdout,
    ) as { written: { path: string; secret: boolean }[] };
    expect(device.written.map((f) => f.path.slice(nextoDir.length + 1))).toContain("ca.crt");
    expect(device.written.some((f) => f.secret)).toBe(true);
    for (const file of device.written.filter((f) => f.secret))
      expect((await stat(file.path)).mode & 0o777).toBe(0o600);

    // A configuration that names store items instead of files.
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const config = join(work, "from-store.json");
    await writeFile(
      config,
      JSON.stringify({
        broker: { url: broker.url, clientId: "line1-plc" },
        security: {
          trustStore: ["store:broker-ca"],
          sendClientCertificate: true,
          keyStore: "store:line1-plc",
        },
      }),
    );
    const doctor = await run(["doctor", "-c", config, "--json"]);
    expect(doctor.code).toBe(0);
    expect(jsonDocument(doctor.stdout)).toMatchObject({ ok: true, connection: { connected: true } });

    // Without the store passphrase the key cannot be read; with a wrong one the store does not open.
    const locked = await run(["doctor", "-c", config, "--json", "--offline"], { MQTT_TLS_STORE: storeFile });
    expect(firstError(jsonDocument(locked.stdout))).toMatchObject({ code: "STORE_PASSPHRASE_MISSING" });
    const wrong = await run(["store", "list", "--json"], {
      MQTT_TLS_STORE: storeFile,
      MQTT_TLS_STORE_PASSPHRASE: "nope",
    });
    expect(wrong.code).toBe(1);
    expect(firstError(jsonDocument(wrong.stdout))).toMatchObject({ code: "STORE_PASSPHRASE_WRONG" });
    const missing = await run(["store", "show", "nothing", "--json"]);
    expect(firstError(jsonDocument(missing.stdout))).toMatchObject({ code: "STORE_ITEM_NOT_FOUND" });

    expect(jsonDocument((await run(["store", "rm", "line1-plc", "--json"])).stdout)).toMatchObject({
      removed: 2,
    });
    const storeBytes = await readFile(storeFile);
    expect(storeBytes.includes(Buffer.from(STORE_PASSPHRASE))).toBe(false);
    expect(storeBytes.includes(Buffer.from(pki.client.key.split("\n")[1]!))).toBe(false);
  });
});

describe("mqtt-tls audit", () => {
  it("lists every certificate of a folder of configurations and of the store, soonest first, with who uses it", async () => {
    const dir = join(work, "audit-plant");
    await mkdir(join(dir, "line2"), { recursive: true });
    const old = await pki.issueClient({ name: "old-plc", expired: true });
    const soon = await pki.issueClient({ name: "soon-plc", days: 10 });
    const configFor = (cert: string, key: string) => ({
      broker: { url: "mqtts://127.0.0.1:8883" },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: cert, privateKey: key },
      },
    });
    await writeFile(join(dir, "old.json"), JSON.stringify(configFor(old.files.chain, old.files.key)));
    await writeFile(
      join(dir, "line2", "soon.json"),
      JSON.stringify(configFor(soon.files.chain, soon.files.key)),
    );
    await writeFile(join(dir, "line2", "package.json"), JSON.stringify({ name: "not-a-configuration" }));
    await writeFile(
      join(dir, "broken.json"),
      JSON.stringify(configFor(join(dir, "missing.crt"), old.files.key)),
    );
    const storeFile = join(work, "audit-store.db");
    await mqttTls(["store", "add", "broker-ca", "--cert", pki.caFile, "--store", storeFile]);

    const run = await mqttTls(["audit", "--configs", dir, "--store", storeFile, "--json"]);
    expect(run.code).toBe(1); // an expired certificate needs action
    const doc = jsonDocument(run.stdout) as {
      ok: boolean;
      certificates: {
        serial: string;
        daysLeft: number;
        source: string;
        usedBy: string[];
        findings: Finding[];
      }[];
      findings: Finding[];
    };
    const serials = doc.certificates.map((c) => c.serial);
    expect(serials[0]).toBe(old.serial);
    expect(serials[1]).toBe(soon.serial);
    // The root is one entry, however many configurations and store items name it.
    expect(serials.filter((s) => s === pki.root.serial)).toHaveLength(1);
    const root = doc.certificates.find((c) => c.serial === pki.root.serial)!;
    expect(root.usedBy).toEqual([
      "audit-plant/broken.json",
      "audit-plant/line2/soon.json",
      "audit-plant/old.json",
      "store:broker-ca",
    ]);
    expect(doc.certificates[0]!.findings[0]).toMatchObject({ code: "CERT_EXPIRED", severity: "error" });
    expect(doc.certificates[1]!.findings[0]).toMatchObject({
      code: "CERT_EXPIRES_SOON",
      severity: "warning",
    });
    expect(doc.certificates[1]!.daysLeft).toBe(9);
    expect(doc.findings[0]).toMatchObject({ code: "FILE_NOT_FOUND", path: "audit-plant/broken.json" });

    const prometheus = await mqttTls(["audit", "--configs", dir, "--prometheus"]);
    expect(prometheus.stdout).toContain("# TYPE x509_cert_not_after gauge\n");
    expect(prometheus.stdout).toMatch(
      new RegExp(
        `x509_cert_expired\\{serial_number="${old.serial}",subject_CN="old-plc",issuer_CN="cli Intermediate CA",[^}]*\\} 1\\n`,
      ),
    );

    // Only certificates far from expiry: nothing to do, exit 0.
    await rm(join(dir, "old.json"));
    await rm(join(dir, "broken.json"));
    expect((await mqttTls(["audit", "--configs", dir, "--warn-days", "5"])).code).toBe(0);
    expect((await mqttTls(["audit"], { cwd: dir })).code).toBe(2); // nothing to look at
  });

  it("with --probe, lists the chain each broker presents", async () => {
    await using broker = await startTestBroker({ pki });
    const dir = join(work, "audit-probe");
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, "plc.json"),
      JSON.stringify({ broker: { url: broker.url }, security: { trustStore: [pki.caFile] } }),
    );
    const doc = jsonDocument((await mqttTls(["audit", "--configs", dir, "--probe", "--json"])).stdout) as {
      certificates: { serial: string; source: string; usedBy: string[] }[];
    };
    expect(doc.certificates.find((c) => c.serial === pki.server.serial)).toMatchObject({
      source: "broker",
      usedBy: [broker.url],
    });
  });
});

describe("mqtt-tls rotate", () => {
  /** A lab CA, a broker certificate and a PLC certificate from it, and the PLC's configuration: as a site has them. */
  async function site(name: string) {
    const dir = join(work, name);
    expect((await mqttTls(["pki", "init", "--dir", dir])).code).toBe(0);
    await mqttTls(["pki", "issue", "server", "--dir", dir, "--name", "localhost", "--ip", "127.0.0.1"]);
    await mqttTls(["pki", "issue", "client", "--dir", dir, "--name", "plc1"]);
    const read = (file: string) => readFile(join(dir, file), "utf8");
    return { dir, read };
  }
  const configFor = (url: string, trust: string) => ({
    broker: { url, clientId: "plc1" },
    security: {
      trustStore: [trust],
      sendClientCertificate: true,
      keyStore: { certificate: "plc1-chain.crt", privateKey: "plc1.key" },
    },
  });
  const serialOf = async (file: string) =>
    new X509Certificate(await readFile(file)).serialNumber.toUpperCase();

  it("plans, refuses a certificate the broker would not take, rotates from the lab CA and from an external CA's answer", async () => {
    const { dir, read } = await site("rotate-site");
    const elsewhere = await site("rotate-elsewhere");
    await using broker = await startTestBroker({ pki: await labBrokerPki(dir), requireClientCert: true });
    const config = join(dir, "plc1.json");
    await writeFile(config, JSON.stringify(configFor(broker.url, "ca.crt")));
    const before = await serialOf(join(dir, "plc1.crt"));
    const keyBefore = await read("plc1.key");

    const plan = jsonDocument(
      (await mqttTls(["rotate", "--config", config, "--dry-run", "--json"])).stdout,
    ) as {
      rotations: { status: string; keyType: string; serial: string }[];
    };
    expect(plan.rotations).toMatchObject([{ status: "planned", keyType: "ec-p256", serial: before }]);

    // A CA the broker does not trust: checked first, refused, nothing switched.
    const refused = await mqttTls(["rotate", "--config", config, "--pki", elsewhere.dir, "--json"]);
    expect(refused.code).toBe(1);
    expect(jsonDocument(refused.stdout)).toMatchObject({ ok: false, rotations: [{ status: "refused" }] });
    expect(firstError(jsonDocument(refused.stdout))).toMatchObject({ code: "CLIENT_CERT_REJECTED" });
    expect(await read("plc1.key")).toBe(keyBefore);

    const rotated = jsonDocument(
      (await mqttTls(["rotate", "--config", config, "--pki", dir, "--json"])).stdout,
    ) as {
      rotations: { status: string; newSerial: string; backups: string[] }[];
    };
    expect(rotated.rotations[0]).toMatchObject({ status: "rotated" });
    const after = await serialOf(join(dir, "plc1.crt").replace("plc1.crt", "plc1-chain.crt"));
    expect(after).toBe(rotated.rotations[0]!.newSerial);
    expect(after).not.toBe(before);
    for (const backup of rotated.rotations[0]!.backups) expect((await stat(backup)).isFile()).toBe(true);
    expect((await stat(join(dir, "plc1.key"))).mode & 0o777).toBe(0o600);
    expect((await mqttTls(["doctor", "-c", config])).code).toBe(0);
    expect(broker.connections.at(-1)?.certificate?.serial.toUpperCase()).toBe(after);

    // An external CA: the CSR goes out, its answer comes back.
    const csr = await mqttTls(["rotate", "--config", config, "--csr-out", join(dir, "csr"), "--json"]);
    expect(jsonDocument(csr.stdout)).toMatchObject({ rotations: [{ status: "csr-written" }] });
    const { signLabCsr } = await import("@proj/pki");
    const signed = await signLabCsr({
      dir,
      role: "client",
      csr: await readFile(join(dir, "csr", "plc1.csr")),
      outDir: join(dir, "signed"),
    });
    const imported = await mqttTls([
      "rotate",
      "--config",
      config,
      "--cert",
      signed.chainFile,
      "--key",
      join(dir, "csr", "plc1.key"),
      "--json",
    ]);
    expect(jsonDocument(imported.stdout)).toMatchObject({
      rotations: [{ status: "rotated", newSerial: signed.serial }],
    });
  });

  it("plans a fleet rotation by expiry, and rotates files and store items alike", async () => {
    const { dir } = await site("rotate-fleet");
    await mqttTls(["pki", "issue", "client", "--dir", dir, "--name", "plc2"]);
    const storeEnv = { MQTT_TLS_STORE: join(dir, "store.db"), MQTT_TLS_STORE_PASSPHRASE: "fleet-store-pass" };
    secretLines.push("fleet-store-pass");
    const add = await mqttTls(
      ["store", "add", "plc2", "--cert", join(dir, "plc2-chain.crt"), "--key", join(dir, "plc2.key")],
      { env: storeEnv },
    );
    expect(add.code).toBe(0);
    await using broker = await startTestBroker({ pki: await labBrokerPki(dir), requireClientCert: true });
    const fleet = join(dir, "configs");
    await mkdir(fleet);
    await writeFile(
      join(fleet, "plc1.json"),
      JSON.stringify({
        broker: { url: broker.url, clientId: "plc1" },
        security: {
          trustStore: ["../ca.crt"],
          sendClientCertificate: true,
          keyStore: { certificate: "../plc1-chain.crt", privateKey: "../plc1.key" },
        },
      }),
    );
    await writeFile(
      join(fleet, "plc2.json"),
      JSON.stringify({
        broker: { url: broker.url, clientId: "plc2" },
        security: { trustStore: ["../ca.crt"], sendClientCertificate: true, keyStore: "store:plc2" },
      }),
    );
    type Rotations = {
      rotations: { config: string; status: string; target: { kind: string }; version?: number }[];
    };
    const none = jsonDocument(
      (
        await mqttTls(["rotate", "--configs", fleet, "--expiring-within", "10", "--dry-run", "--json"], {
          env: storeEnv,
        })
      ).stdout,
    ) as Rotations;
    expect(none.rotations).toEqual([]);
    const plan = jsonDocument(
      (
        await mqttTls(["rotate", "--configs", fleet, "--expiring-within", "400", "--dry-run", "--json"], {
          env: storeEnv,
        })
      ).stdout,
    ) as Rotations;
    expect(plan.rotations.map((r) => [r.status, r.target.kind])).toEqual([
      ["planned", "files"],
      ["planned", "store"],
    ]);
    const done = jsonDocument(
      (
        await mqttTls(["rotate", "--configs", fleet, "--expiring-within", "400", "--pki", dir, "--json"], {
          env: storeEnv,
        })
      ).stdout,
    ) as Rotations;
    expect(done.rotations.map((r) => r.status)).toEqual(["rotated", "rotated"]);
    expect(done.rotations[1]).toMatchObject({ target: { kind: "store" }, version: 2 });
    const shown = jsonDocument(
      (await mqttTls(["store", "show", "plc2", "--json"], { env: storeEnv })).stdout,
    );
    expect(shown).toMatchObject({ item: { versions: [1, 2] } });
    expect((await mqttTls(["doctor", "-c", join(fleet, "plc2.json")], { env: storeEnv })).code).toBe(0);
  });

  it.skipIf(mosquittoSkipReason())(
    "a running client picks the new certificate up without a restart and loses no QoS 1 message (Mosquitto, under load)",
    async () => {
      const { dir, read } = await site("rotate-live");
      await mqttTls(["pki", "issue", "client", "--dir", dir, "--name", "scada"]);
      const labCa = await pki.client.writeFile(
        "rotate-live-ca.crt",
        (await read("ca.crt")) + (await read("intermediate-ca.crt")),
      );
      const port = await freePort();
      await using _mosquitto = await startMosquitto({
        pki,
        port,
        listenerBlock: () =>
          [
            `listener ${port} 127.0.0.1`,
            `cafile ${labCa}`,
            `certfile ${pki.server.files.chain}`,
            `keyfile ${pki.server.files.key}`,
            "require_certificate true",
            "use_identity_as_username true",
            "set_tcp_nodelay true",
          ].join("\n"),
      });
      const url = `mqtts://127.0.0.1:${port}`;
      const config = join(dir, "plc1.json");
      await writeFile(config, JSON.stringify(configFor(url, pki.caFile)));
      const received = new Set<string>();
      const subscriber = await mqtt.connectAsync(url, {
        ca: pki.caPem,
        cert: await read("scada-chain.crt"),
        key: await read("scada.key"),
        clientId: "scada",
        reconnectPeriod: 0,
      });
      subscriber.on("message", (_topic, payload) => received.add(payload.toString()));
      await subscriber.subscribeAsync("plant/#", { qos: 1 });

      const { connectSecure } = await import("@proj/mqtt-tls");
      await using client = await connectSecure(config, { watchCredentials: true });
      const events: string[] = [];
      client.on("securityEvent", (event) => events.push(event.mnemonic));
      const COUNT = 600;
      let rotation: ReturnType<typeof mqttTls> | undefined;
      const sent: Promise<unknown>[] = [];
      for (let i = 0; i < COUNT; i++) {
        sent.push(client.publish("plant/line1/level", String(i), { qos: 1 }));
        if (i === 100) rotation = mqttTls(["rotate", "--config", config, "--pki", dir]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect((await rotation!).code).toBe(0);
      await Promise.all(sent);
      await expect.poll(() => events, { timeout: 10_000 }).toContain("CREDENTIALS_RELOADED");
      await expect.poll(() => received.size, { timeout: 10_000 }).toBe(COUNT);
      await subscriber.endAsync();
    },
  );
});

describe("mqtt-tls mosquitto-conf", () => {
  it("writes the listener block of a mutual-TLS config", async () => {
    const config = await writeConfig("conf", "mqtts://broker.plant.local:8883", { minTlsVersion: "TLSv1.3" });
    const result = await mqttTls([
      "mosquitto-conf",
      "-c",
      config,
      "--certfile",
      "certs/server-chain.crt",
      "--keyfile",
      "certs/server.key",
    ]);
    expect(result.code).toBe(0);
    for (const line of [
      "listener 8883",
      // Mosquitto resolves relative paths from its own folder: every path is absolute.
      `certfile ${join(work, "certs/server-chain.crt")}`,
      `keyfile ${join(work, "certs/server.key")}`,
      `# started as root, Mosquitto reads the key as user mosquitto: chown mosquitto ${join(work, "certs/server.key")} && chmod 600 ${join(work, "certs/server.key")}`,
      `cafile ${pki.caFile}`,
      "require_certificate true",
      "use_identity_as_username true",
      "tls_version tlsv1.3",
      "set_tcp_nodelay true",
    ])
      expect(result.stdout).toContain(`${line}\n`);
    expect((await mqttTls(["mosquitto-conf", "-c", "missing.json"])).code).toBe(2);
  });

  it.skipIf(mosquittoSkipReason())(
    "writes a block Mosquitto runs, and the config connects to it",
    async () => {
      const port = await freePort();
      const config = await writeConfig("conf-live", `mqtts://127.0.0.1:${port}`);
      const result = await mqttTls([
        "mosquitto-conf",
        "-c",
        config,
        "--certfile",
        pki.server.files.chain,
        "--keyfile",
        pki.server.files.key,
      ]);
      expect(result.code).toBe(0);
      // The broker URL names an address: the listener binds that one, not every interface.
      expect(result.stdout).toContain(`listener ${port} 127.0.0.1\n`);
      await using _mosquitto = await startMosquitto({ pki, port, listenerBlock: () => result.stdout });
      expect((await mqttTls(["doctor", "-c", config])).code).toBe(0);
      const anonymous = await writeConfig("conf-anon", `mqtts://127.0.0.1:${port}`, {
        sendClientCertificate: false,
        keyStore: undefined,
      });
      const refused = await mqttTls(["doctor", "-c", anonymous, "--json"]);
      const doc = jsonDocument(refused.stdout);
      expect((doc.findings as Finding[]).map((f) => f.code)).toContain("CLIENT_CERT_REQUIRED");
      // The setting to change leads; the broker's refusal follows from it.
      expect(firstError(doc)).toMatchObject({ code: "CLIENT_CERT_DISABLED" });
      expect((doc.findings as Finding[]).find((f) => f.code === "CLIENT_CERT_REQUIRED")).toMatchObject({
        causedBy: "CLIENT_CERT_DISABLED",
      });
    },
  );
});

describe.skipIf(mosquittoSkipReason())("mqtt-tls mosquitto-conf --crlfile", () => {
  it("writes crlfile, Mosquitto refuses the revoked PLC with it, and doctor says CLIENT_CERT_REVOKED", async () => {
    const stolen = await pki.issueClient({ name: "stolen-plc" });
    const crl = await pki.createCrl({ revoke: [stolen] });
    const port = await freePort();
    const config = await writeConfig("conf-crl", `mqtts://127.0.0.1:${port}`, {
      keyStore: { certificate: stolen.files.chain, privateKey: stolen.files.key },
    });
    const conf = await mqttTls([
      "mosquitto-conf",
      "-c",
      config,
      "--certfile",
      pki.server.files.chain,
      "--keyfile",
      pki.server.files.key,
      "--crlfile",
      crl.file,
    ]);
    expect(conf.stdout).toContain(`crlfile ${crl.file}\n`);
    expect(conf.stdout).toContain("kill -HUP");
    await using _mosquitto = await startMosquitto({ pki, port, listenerBlock: () => conf.stdout });
    const doctor = await mqttTls(["doctor", "-c", config, "--json"]);
    expect(firstError(jsonDocument(doctor.stdout))).toMatchObject({ code: "CLIENT_CERT_REVOKED" });
  });
});

describe("mqtt-tls devices and demo", () => {
  it("lists the adapters and shows a profile with its sources", async () => {
    const list = await mqttTls(["devices"]);
    expect(list.code).toBe(0);
    for (const id of ["altus-nexto", "schneider-geoscada", "beckhoff-tf6701", "codesys-mqtt", "abb-ac500"])
      expect(list.stdout).toContain(id);
    const nexto = await mqttTls(["devices", "altus-nexto"]);
    expect(nexto.stdout).toMatch(/tlsVersions\s+TLSv1\.2\n\s+documented: Altus/);
    expect(nexto.stdout).toMatch(/keyTypes\s+RSA 2048-4096 bits\n\s+assumed/);
    const json = await mqttTls(["devices", "--json"]);
    expect((jsonDocument(json.stdout).devices as unknown[]).length).toBe(5);
    expect((await mqttTls(["devices", "nope"])).code).toBe(2);
  });

  it("runs the demo end to end and ends by itself", async () => {
    const result = await mqttTls(["demo"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/PLC line1-nx3004: TLSv1\.2, MQTT 3\.1\.1/);
    expect(result.stdout).toMatch(/SCADA received nexto\/line1-nx3004\/line1\/tank-level \{"value"/);
    // Each broken configuration is named by its first error.
    const [, wrongCa, expired] = result.stdout.split(/\n\d\. A broken configuration/);
    expect(firstErrorInText(wrongCa!)).toBe("SERVER_CERT_UNTRUSTED");
    expect(firstErrorInText(expired!)).toBe("CERT_EXPIRED");
    expect(result.stdout).toMatch(/5\. Sparkplug B[\s\S]*PLC received NCMD: line1\/pump1\/running = true/);
    expect(result.stdout).toMatch(/8\. mqtt-tls audit[\s\S]*✖ +-\d+ d .*CN=line2-nx3003/);
    expect(result.stdout).toMatch(
      /9\. mqtt-tls rotate[\s\S]*✔ line1-nx3004\.json[\s\S]*new serial [0-9A-F]+/,
    );
    const [, revoked] = result.stdout.split(/\n10\. The PLC is stolen/);
    expect(firstErrorInText(revoked!)).toBe("CLIENT_CERT_REVOKED");
    expect(result.stdout).toMatch(/Done: the PLC's tags reached SCADA over mutual TLS 1\.2/);
  });
});

describe("secrets", () => {
  it("never appear in any output of the commands above", () => {
    expect(outputs.length).toBeGreaterThan(40);
    const all = outputs.join("\n");
    for (const secret of secretLines) expect(all).not.toContain(secret);
  });
});
