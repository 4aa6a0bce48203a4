// The doctor on Node-RED's admin API, in a real Node-RED process with this package installed as a user installs
// it: behind a login and a permission, for deployed nodes and for what the editor holds, for our broker node and
// for the core mqtt-broker + tls-config pair with each of its traps.
import { createTestPki, startTestBroker, type TestBroker, type TestPki } from "@proj/test-broker";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DoctorAnswer } from "../src/red.js";
import { startNodeRed, type NodeRedProcess } from "./node-red-process.js";

const KEY_PASSPHRASE = "deployed-key-pass-Vq2";
const BROKER_PASSWORD = "broker-password-Lk8";
const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64");

let pki: TestPki;
let broker: TestBroker;
/** A second broker that wants the password the first node was deployed with. */
let otherBroker: TestBroker;
let red: NodeRedProcess;
let adminToken: string;

/** A core tls-config node. */
const tlsConfig = (id: string, extra: Record<string, unknown>) => ({
  id,
  type: "tls-config",
  name: `TLS ${id}`,
  cert: "",
  key: "",
  ca: "",
  certname: "",
  keyname: "",
  caname: "",
  servername: "",
  verifyservercert: true,
  alpnprotocol: "",
  ...extra,
});
/** A core mqtt-broker node (nothing uses it, so Node-RED itself never connects with it). */
const coreBroker = (id: string, extra: Record<string, unknown>) => ({
  id,
  type: "mqtt-broker",
  name: `broker ${id}`,
  broker: "127.0.0.1",
  port: String(broker.port),
  clientid: "",
  autoConnect: true,
  usetls: true,
  protocolVersion: "4",
  keepalive: "60",
  cleansession: true,
  ...extra,
});

beforeAll(async () => {
  pki = await createTestPki({ name: "node-red-admin" });
  broker = await startTestBroker({ pki, requireClientCert: true });
  otherBroker = await startTestBroker({ pki, requireClientCert: true, users: { plc: BROKER_PASSWORD } });
  const clientKey = await pki.client.writeFile(
    "client.enc.key",
    pki.client.exportKey({ passphrase: KEY_PASSPHRASE }),
  );
  const ourConfig = {
    broker: { url: broker.url, protocolVersion: 4, username: "plc" },
    security: {
      enableTls: true,
      checkServerCertificate: true,
      trustStore: ["upload:ca.der"],
      sendClientCertificate: true,
      keyStore: { certificate: pki.client.files.chain, privateKey: clientKey },
    },
  };
  const flows = [
    { id: "ours", type: "mqtt-tls-broker", name: "our broker", config: ourConfig },
    coreBroker("core-good", { tls: "tls-good" }),
    tlsConfig("tls-good", { ca: pki.caFile, cert: pki.client.files.chain, key: pki.client.files.key }),
    coreBroker("core-mqtts-no-tls", {
      broker: `mqtts://127.0.0.1:${broker.port}`,
      usetls: false,
      tls: "tls-good",
    }),
    coreBroker("core-verify-off", { tls: "tls-verify-off" }),
    tlsConfig("tls-verify-off", {
      verifyservercert: false,
      cert: pki.client.files.chain,
      key: pki.client.files.key,
    }),
    coreBroker("core-ca-missing", { tls: "tls-ca-missing" }),
    tlsConfig("tls-ca-missing", { ca: join(pki.dir, "no-such-ca.pem") }),
    coreBroker("core-der-upload", { tls: "tls-der-upload" }),
    // certs/ca.pem is in the user folder; Node-RED reads the path from its working folder, where it is not.
    coreBroker("core-relative-ca", { port: broker.port, tls: "tls-relative-ca" }),
    tlsConfig("tls-relative-ca", { ca: "certs/ca.pem" }),
    tlsConfig("tls-der-upload", { caname: "ca.der" }),
  ];
  const credentials = {
    ours: { trustStore: b64(pki.root.certDer), passphrase: KEY_PASSPHRASE, password: BROKER_PASSWORD },
    // What Node-RED's editor stored for a DER file: its bytes read as UTF-8 text.
    "tls-der-upload": { cadata: pki.root.certDer.toString("utf8") },
  };
  red = await startNodeRed(flows, credentials, { "certs/ca.pem": pki.caPem });
  adminToken = await red.token("admin");
}, 60_000);

afterAll(async () => {
  await red?.close();
  await broker?.close();
  await otherBroker?.close();
  await pki?.cleanup();
});

async function doctor(body: unknown, token: string | undefined = adminToken) {
  const response = await fetch(`${red.url}/mqtt-tls/doctor`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    answer: (text.startsWith("{") ? JSON.parse(text) : undefined) as DoctorAnswer,
  };
}

/** Our broker node as the editor holds it after an edit: kept credentials are `__PWRD__`. */
const edited = (url: string, credentials: Record<string, string>) => ({
  node: {
    id: "ours",
    type: "mqtt-tls-broker",
    config: {
      broker: { url, username: "plc" },
      security: {
        sendClientCertificate: true,
        trustStore: ["upload:ca.der"],
        keyStore: { certificate: pki.client.files.chain, privateKey: join(pki.dir, "client.enc.key") },
      },
    },
    credentials: { passphrase: "__PWRD__", password: "__PWRD__", ...credentials },
  },
});

describe("POST /mqtt-tls/doctor: who may ask", () => {
  it("refuses a caller without a login, and one who may only read", async () => {
    const anonymous = await doctor({ id: "ours" }, "");
    expect(anonymous.status).toBe(401);
    const viewer = await doctor({ id: "ours" }, await red.token("viewer"));
    expect(viewer.status).toBe(401);
    expect(viewer.text).not.toContain("findings");
  });

  it("answers 404 for an id nothing has, and 400 for a node that is no broker", async () => {
    expect((await doctor({ id: "nope" })).status).toBe(404);
    const wrong = await doctor({ node: { id: "x", type: "inject" } });
    expect(wrong.status).toBe(400);
    expect(wrong.answer.findings[0]?.code).toBe("FIELD_INVALID");
  });
});

describe("POST /mqtt-tls/doctor: deployed nodes", () => {
  it("an mqtt-tls-broker with a DER upload and an encrypted key file connects, and the answer holds no secret", async () => {
    const { status, answer, text } = await doctor({ id: "ours" });
    expect(status).toBe(200);
    expect(answer.ok).toBe(true);
    expect(answer.connection).toMatchObject({ attempted: true, connected: true });
    expect(answer.connection?.tlsVersion).toMatch(/^TLSv1\.[23]$/);
    for (const secret of [KEY_PASSPHRASE, BROKER_PASSWORD, pki.client.key.split("\n")[1]!])
      expect(text).not.toContain(secret);
  });

  it("a sound core pair connects", async () => {
    const { answer } = await doctor({ id: "core-good" });
    expect(answer.findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(answer.ok).toBe(true);
  });

  it.each([
    ["core-mqtts-no-tls", "NODE_RED_MQTTS_WITHOUT_TLS"],
    ["core-verify-off", "NODE_RED_VERIFY_OFF"],
    ["core-ca-missing", "NODE_RED_CA_UNREADABLE_FALLBACK"],
    ["core-der-upload", "NODE_RED_UPLOAD_NOT_PEM"],
    ["core-relative-ca", "NODE_RED_CA_UNREADABLE_FALLBACK"],
  ])("%s: the first error is %s, with a remedy", async (id, code) => {
    const { answer } = await doctor({ id });
    expect(answer.ok).toBe(false);
    expect(answer.findings[0]).toMatchObject({ code, severity: "error" });
    expect(answer.findings[0]?.remedy).toBeTruthy();
  });

  it("what follows from a trap names it as its cause", async () => {
    const { answer } = await doctor({ id: "core-ca-missing" });
    const consequence = answer.findings.find((f) => f.code === "TRUST_STORE_MISSING");
    expect(consequence?.causedBy).toBe("NODE_RED_CA_UNREADABLE_FALLBACK");
  });
});

describe("POST /mqtt-tls/doctor: what the editor holds", () => {
  it("diagnoses an edited node with the deployed credentials it does not hold", async () => {
    // The editor shows a kept passphrase as __PWRD__: the deployed one is used.
    const { answer } = await doctor(edited(broker.url, {}));
    expect(answer.ok).toBe(true);
  });

  it("a wrong passphrase typed in the editor is named, never echoed", async () => {
    const typed = "typed-wrong-pass-Rr5";
    const { answer, text } = await doctor(edited(broker.url, { passphrase: typed }));
    expect(answer.findings[0]?.code).toBe("KEY_PASSPHRASE_WRONG");
    expect(text).not.toContain(typed);
  });

  it("an unsaved core pair with a DER upload read as text", async () => {
    const { answer } = await doctor({
      node: coreBroker("unsaved", { tls: "unsaved-tls" }),
      tls: { ...tlsConfig("unsaved-tls", {}), credentials: { cadata: pki.root.certDer.toString("utf8") } },
    });
    expect(answer.findings[0]?.code).toBe("NODE_RED_UPLOAD_NOT_PEM");
  });

  it("an unsaved mqtt-tls-broker with a PKCS#12 upload", async () => {
    const { answer } = await doctor({
      node: {
        type: "mqtt-tls-broker",
        config: {
          broker: { url: broker.url },
          security: {
            sendClientCertificate: true,
            trustStore: ["upload:ca.pem"],
            keyStore: { pkcs12: "upload:plc.p12" },
          },
        },
        credentials: {
          trustStore: b64(pki.caPem),
          pkcs12: b64(pki.client.toPkcs12({ passphrase: "p12-in-editor" })),
          passphrase: "p12-in-editor",
        },
      },
    });
    expect(answer.ok).toBe(true);
  });
});

describe("secrets stay where they are", () => {
  it("the deployed password is not sent to a broker the node did not deploy for; a typed one is", async () => {
    const moved = await doctor(edited(otherBroker.url, {}));
    expect(moved.answer.findings[0]?.code).toBe("MQTT_CONNECT_REFUSED");
    expect(moved.answer.findings).toContainEqual(
      expect.objectContaining({ code: "FIELD_IGNORED", path: "broker.password" }),
    );
    expect(otherBroker.refusedConnects.length).toBeGreaterThan(0);

    const typed = await doctor(edited(otherBroker.url, { password: BROKER_PASSWORD }));
    expect(typed.answer.ok).toBe(true);
    expect(typed.text).not.toContain(BROKER_PASSWORD);
  });

  it("a stored password is not sent when the edit checks the broker less, even at the same URL", async () => {
    const body = edited(broker.url, {});
    (body.node.config.security as Record<string, unknown>).checkServerCertificate = false;
    const { answer } = await doctor(body);
    expect(answer.findings).toContainEqual(
      expect.objectContaining({ code: "FIELD_IGNORED", path: "broker.password" }),
    );
  });

  it("an env: value the deployed node does not hold is refused: the doctor reads no variable for a caller", async () => {
    const body = edited(otherBroker.url, {});
    (body.node.config.broker as Record<string, unknown>).username = "env:HOME";
    const refused = await doctor(body);
    expect(refused.status).toBe(400);
    expect(refused.answer.findings[0]).toMatchObject({
      code: "FIELD_INVALID",
      path: "node.config.broker.username",
    });
    expect(refused.text).not.toContain(String(process.env.HOME));
  });

  it("the editor gets flags for credentials, never their values", async () => {
    const headers = { authorization: `Bearer ${adminToken}` };
    const creds = await (await fetch(`${red.url}/credentials/mqtt-tls-broker/ours`, { headers })).text();
    expect(JSON.parse(creds)).toMatchObject({
      has_passphrase: true,
      has_password: true,
      has_trustStore: true,
    });
    const flows = await (await fetch(`${red.url}/flows`, { headers })).text();
    for (const text of [creds, flows])
      for (const secret of [KEY_PASSPHRASE, BROKER_PASSWORD, b64(pki.root.certDer).slice(0, 40)])
        expect(text).not.toContain(secret);
  });
});

describe("Node-RED's log", () => {
  it("never shows a passphrase, a password or key material", async () => {
    const log = red.output();
    expect(log).toContain("Started flows");
    for (const secret of [KEY_PASSPHRASE, BROKER_PASSWORD, "p12-in-editor", "typed-wrong-pass-Rr5"])
      expect(log).not.toContain(secret);
    expect(log).not.toContain("PRIVATE KEY");
  });
});
