/**
 * The CLI under hostile or careless input, as a user or an attacker tries it: no password in clear, no hang, no
 * stack trace, no secret in output (DEBUG included), no terminal injection, no unbounded read, nothing left behind.
 */
import { createTestPki, startTestBroker, type TestPki } from "@proj/test-broker";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBin, startBin } from "./run-bin.js";

const PASSWORD = "pw-Hostile-7731-never-print";
const URL_PASSWORD = "url-Pass-4410-never-print";
let pki: TestPki;
let work: string;

beforeAll(async () => {
  pki = await createTestPki({ name: "cli-hostile" });
  work = await mkdtemp(join(tmpdir(), "mqtt-tls-hostile-"));
});
afterAll(async () => {
  await pki.cleanup();
  await rm(work, { recursive: true, force: true });
});

const env = { MQTT_PASSWORD: PASSWORD, NO_COLOR: "1" };
const mqttTls = (args: string[], extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 20_000) =>
  runBin(args, { cwd: work, env: { ...env, ...extraEnv }, timeoutMs });

async function writeConfig(name: string, config: object): Promise<string> {
  const file = join(work, `${name}.json`);
  await writeFile(file, JSON.stringify(config));
  return file;
}

/** A TCP server on loopback that keeps every byte it is sent. */
async function recorder(): Promise<{
  port: number;
  bytes: () => Buffer;
  connections: () => number;
  server: Server;
}> {
  const received: Buffer[] = [];
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on("data", (chunk: Buffer) => received.push(chunk));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    bytes: () => Buffer.concat(received),
    connections: () => connections,
    server,
  };
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);

describe("credentials never cross a connection the configuration did not ask for", () => {
  it("pub, sub and fleet refuse an mqtt:// URL while TLS is on, and send nothing to it", async () => {
    const tcp = await recorder();
    try {
      const config = await writeConfig("plain-url", {
        broker: { url: `mqtt://127.0.0.1:${tcp.port}`, username: "plc", password: "env:MQTT_PASSWORD" },
        security: { trustStore: [pki.caFile] },
      });
      const pub = await mqttTls(["pub", "-c", config, "-t", "plant/a", "-m", "1"]);
      const sub = await mqttTls(["sub", "-c", config, "-t", "plant/#", "--count", "1", "--timeout", "2"]);
      const fleetPki = join(work, "fleet-pki");
      expect((await mqttTls(["pki", "init", "--dir", fleetPki])).code).toBe(0);
      const fleet = await mqttTls(
        ["fleet", "-c", config, "--pki", fleetPki, "--devices", "2", "--duration", "1"],
        {},
        60_000,
      );
      for (const run of [pub, sub, fleet]) {
        expect(run.code).toBe(1);
        expect(run.stdout + run.stderr).toContain("URL_SCHEME_MISMATCH");
        noStackTrace(run.stderr);
      }
      expect(tcp.bytes().toString("latin1")).not.toContain(PASSWORD);
      expect(tcp.bytes()).toHaveLength(0);
    } finally {
      tcp.server.close();
    }
  });
});

describe("topics are checked before anything is sent", () => {
  it("pub and sub reject topics MQTT does not allow as usage errors (exit 2), quickly", async () => {
    const config = await writeConfig("topics", {
      broker: { url: "mqtts://127.0.0.1:1" },
      security: { trustStore: [pki.caFile] },
    });
    const cases: [string, string, RegExp][] = [
      ["pub", "a/+", /wildcard \+/],
      ["pub", "a/#", /wildcard #/],
      ["pub", "", /cannot be empty/],
      ["pub", "x".repeat(70_000), /at most 65535 UTF-8 bytes/],
      ["sub", "a/#/b", /# must be the last level/],
      ["sub", "a/b+", /\+ must stand alone/],
      ["sub", "", /cannot be empty/],
    ];
    for (const [command, topic, why] of cases) {
      const args = [
        command,
        "-c",
        config,
        "-t",
        topic,
        ...(command === "pub" ? ["-m", "1", "--qos", "1"] : []),
      ];
      const run = await mqttTls(args, {}, 10_000);
      expect(run.code, `${command} -t ${topic.slice(0, 20)}`).toBe(2);
      expect(run.stderr).toMatch(why);
      expect(run.stdout).not.toMatch(/published/);
      expect(run.stderr).not.toMatch(/another client may use the same clientId/);
      noStackTrace(run.stderr);
    }
  });
});

describe("failures end with a coded line and leave nothing behind", () => {
  it("broker --port on a busy port: exit 1, the reason, and no temporary CA left", async () => {
    const busy = await recorder();
    const temp = await mkdtemp(join(work, "tmp-"));
    try {
      const run = await mqttTls(["broker", "--port", String(busy.port)], { TMPDIR: temp }, 30_000);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`port ${busy.port} on 127\\.0\\.0\\.1 is already in use`));
      noStackTrace(run.stderr);
      expect(await readdir(temp)).toEqual([]);
    } finally {
      busy.server.close();
    }
  });
});

describe("secrets stay out of the output", () => {
  it("with DEBUG=*, pub, sub and fleet print mqtt.js's log but never the password", async () => {
    await using broker = await startTestBroker({ pki });
    const config = await writeConfig("debug", {
      broker: { url: broker.url, username: "plc", password: "env:MQTT_PASSWORD" },
      security: { trustStore: [pki.caFile] },
    });
    const debug = { DEBUG: "*" };
    const pub = await mqttTls(["pub", "-c", config, "-t", "plant/a", "-m", "1", "--qos", "1"], debug);
    const sub = await mqttTls(
      ["sub", "-c", config, "-t", "plant/#", "--count", "1", "--timeout", "1"],
      debug,
    );
    const fleetPki = join(work, "debug-fleet-pki");
    expect((await mqttTls(["pki", "init", "--dir", fleetPki])).code).toBe(0);
    const fleet = await mqttTls(
      ["fleet", "-c", config, "--pki", fleetPki, "--devices", "2", "--duration", "1"],
      debug,
      60_000,
    );
    expect(pub.code).toBe(0);
    expect(fleet.code).toBe(0);
    for (const run of [pub, sub, fleet]) {
      expect(run.stderr).toMatch(/mqttjs:client/); // the debug log ran, so the scan saw it
      expect(run.stderr).toMatch(/_writePacket :: packet/);
      for (const text of [run.stdout, run.stderr]) {
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(Buffer.from(PASSWORD).toString("hex").match(/../g)!.join(" "));
      }
    }
  });

  it("a password inside the URL: doctor warns (URL_CREDENTIALS) and neither doctor nor mosquitto-conf prints it", async () => {
    await using broker = await startTestBroker({ pki });
    const url = broker.url.replace("mqtts://", `mqtts://plc:${URL_PASSWORD}@`);
    const config = await writeConfig("url-credentials", {
      broker: { url },
      security: { trustStore: [pki.caFile] },
    });
    const doctor = await mqttTls(["doctor", "-c", config]);
    const json = await mqttTls(["doctor", "-c", config, "--json"]);
    const conf = await mqttTls(["mosquitto-conf", "-c", config]);
    expect(doctor.stdout).toMatch(/URL_CREDENTIALS {2}broker\.url/);
    expect(doctor.stdout).toMatch(/Connected to mqtts:\/\/127\.0\.0\.1:\d+/);
    for (const run of [doctor, json, conf]) expect(run.stdout + run.stderr).not.toContain(URL_PASSWORD);
  });
});

describe("text from certificates cannot drive the terminal", () => {
  it("a broker certificate whose CN holds escape sequences is printed escaped by doctor and inspect", async () => {
    const evil = await pki.issueServer({ name: "evil\u001b[2J\u001b[32mOK\u001b[0m", keySlot: "evil" });
    await using broker = await startTestBroker({
      pki: {
        root: { cert: pki.caPem },
        intermediate: undefined,
        server: { chain: evil.chain, key: evil.key },
      },
    });
    const config = await writeConfig("evil", {
      broker: { url: broker.url },
      security: { trustStore: [pki.caFile], serverName: "localhost" },
    });
    const doctor = await mqttTls(["doctor", "-c", config]);
    const inspect = await mqttTls(["inspect", evil.files.cert]);
    for (const run of [doctor, inspect]) {
      expect(run.stdout + run.stderr).not.toContain("\u001b");
      expect(run.stdout).toContain("evil\\u{1b}[2J\\u{1b}[32mOK");
    }
    // JSON stays exact.
    const json = await mqttTls(["inspect", evil.files.cert, "--json"]);
    expect(JSON.parse(json.stdout).files[0].certificates[0].subject).toContain("evil\u001b[2J");
  });
});

describe("reads are bounded and regular files only", () => {
  it("inspect /dev/zero and a FIFO, and a trust store of /dev/urandom: a finding each, no hang", async () => {
    const fifo = join(work, "pipe.pem");
    await promisify(execFile)("mkfifo", [fifo]);
    const inspect = await mqttTls(["inspect", "/dev/zero", fifo], {}, 10_000);
    expect(inspect.code).toBe(1);
    expect(inspect.stdout).toMatch(/\/dev\/zero is a device, not a file/);
    expect(inspect.stdout).toMatch(/pipe\.pem is a named pipe \(FIFO\), not a file/);
    const config = await writeConfig("urandom", {
      broker: { url: "mqtts://127.0.0.1:1" },
      security: { trustStore: ["/dev/urandom"] },
    });
    const doctor = await mqttTls(["doctor", "-c", config, "--offline"], {}, 10_000);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/FILE_UNREADABLE {2}security\.trustStore\[0\]/);
    await mkdir(join(work, "a-folder.pem"));
    const folder = await mqttTls(["inspect", join(work, "a-folder.pem")], {}, 10_000);
    expect(folder.stdout).toMatch(/a-folder\.pem is a folder, not a file/);
  });
});

describe("the dev broker names who connects", () => {
  it("logs a clientId that is not its certificate's identity, and refuses it under --strict-identity", async () => {
    const dir = join(work, "identity-pki");
    expect((await mqttTls(["pki", "init", "--dir", dir])).code).toBe(0);
    expect((await mqttTls(["pki", "issue", "client", "--dir", dir, "--name", "line1-plc"])).code).toBe(0);
    const config = (url: string, clientId: string) =>
      writeConfig(`identity-${clientId}`, {
        broker: { url, clientId },
        security: {
          trustStore: [join(dir, "ca.crt")],
          sendClientCertificate: true,
          keyStore: { certificate: join(dir, "line1-plc-chain.crt"), privateKey: join(dir, "line1-plc.key") },
        },
      });
    for (const strict of [false, true]) {
      await using broker = startBin(
        [
          "broker",
          "--pki",
          dir,
          "--require-client-cert",
          ...(strict ? ["--strict-identity"] : []),
          "--duration",
          "20",
        ],
        { cwd: work, env },
      );
      const [, url] = await broker.waitFor(/listening on (mqtts:\/\/\S+)/);
      const run = await mqttTls(["pub", "-c", await config(url!, "line2-plc"), "-t", "plant/a", "-m", "1"]);
      if (strict) {
        expect(run.code).toBe(1);
        await broker.waitFor(
          /refused CONNECT from line2-plc: clientId is not the certificate CN "line1-plc"/,
        );
      } else {
        expect(run.code).toBe(0);
        await broker.waitFor(/line2-plc is not the identity of its certificate \(CN=line1-plc\)/);
      }
    }
    expect((await mqttTls(["broker", "--strict-identity"])).code).toBe(2);
  });
});

describe("keys the TLS stack refuses", () => {
  it("an RSA-1024 client key: doctor leads with WEAK_KEY, an error where the TLS stack refuses it, and never a stack trace", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const weak = await pki.issueClient({ name: "weak-plc", keyType: "rsa1024", keySlot: "weak" });
    const config = await writeConfig("weak-key", {
      broker: { url: broker.url },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: weak.files.chain, privateKey: weak.files.key },
      },
    });
    // OpenSSL 3.2 and later (Node 24) refuse a key this small in the handshake; 3.0 (Node 20, 22) takes it.
    const [major = 0, minor = 0] = process.versions.openssl.split(".").map(Number);
    const refused = major > 3 || (major === 3 && minor >= 2);
    const run = await mqttTls(["doctor", "-c", config, "--json"]);
    noStackTrace(run.stderr);
    const report = JSON.parse(run.stdout) as { findings: { code: string; severity: string }[] };
    expect(report.findings[0]).toMatchObject({ code: "WEAK_KEY", severity: refused ? "error" : "warning" });
    expect(run.code).toBe(refused ? 1 : 0);
    const pub = await mqttTls(["pub", "-c", config, "-t", "plant/a", "-m", "1"]);
    noStackTrace(pub.stderr);
    expect(pub.code).toBe(refused ? 1 : 0);
    if (refused) expect(pub.stderr).toMatch(/WEAK_KEY/);
  });
});

describe("smaller slips", () => {
  it("--json gets one JSON document even for a usage error", async () => {
    const dir = join(work, "json-pki");
    expect((await mqttTls(["pki", "init", "--dir", dir])).code).toBe(0);
    for (const [args, code] of [
      [["pki", "init", "--dir", dir, "--json"], "PKI_EXISTS"],
      [["devices", "nope", "--json"], "UNKNOWN_DEVICE"],
      [["doctor", "--json"], "USAGE"],
    ] as const) {
      const run = await mqttTls([...args]);
      expect(run.code, args.join(" ")).toBe(2);
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, findings: [{ code, severity: "error" }] });
    }
  });

  it("pub says when it publishes to a broker it does not authenticate", async () => {
    await using broker = await startTestBroker({ pki });
    const config = await writeConfig("unchecked", {
      broker: { url: broker.url },
      security: { checkServerCertificate: false },
    });
    const run = await mqttTls(["pub", "-c", config, "-t", "plant/a", "-m", "1"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/SERVER_CERT_CHECK_DISABLED/);
  });

  it("pub against a port that never answers ends at the configured deadline, and says which", async () => {
    const silent = await recorder();
    try {
      const config = await writeConfig("silent", {
        broker: { url: `mqtts://127.0.0.1:${silent.port}`, connectTimeoutMs: 2000 },
        security: { trustStore: [pki.caFile] },
      });
      const run = await mqttTls(["pub", "-c", config, "-t", "plant/a", "-m", "1"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /CONNECT_TIMEOUT[\s\S]*within 2000 ms: the broker accepted TCP but did not answer the TLS handshake/,
      );
      // One attempt, its deadline spent: no second connection to probe for as long again.
      expect(silent.connections()).toBe(1);
    } finally {
      silent.server.close();
    }
  });

  it("pki issue client offers a configuration for the broker its folder serves", async () => {
    const dir = join(work, "template-pki");
    expect((await mqttTls(["pki", "init", "--dir", dir])).code).toBe(0);
    expect((await mqttTls(["pki", "issue", "server", "--dir", dir, "--name", "localhost"])).code).toBe(0);
    const client = await mqttTls(["pki", "issue", "client", "--dir", dir, "--name", "line1-plc"]);
    expect(client.stdout).toContain('"url": "mqtts://localhost:8883"');
    expect(client.stdout).not.toContain("broker.local");
  });
});
