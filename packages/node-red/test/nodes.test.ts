// The nodes in Node-RED's own runtime (node-red-node-test-helper) against real brokers: the dev broker (aedes) and
// Mosquitto, over mutual TLS with uploads in every shape, and with TLS broken the ways the field breaks it.
import {
  createTestPki,
  mosquittoSkipReason,
  startMosquitto,
  startTestBroker,
  type MosquittoBroker,
  type TestBroker,
  type TestPki,
} from "@proj/test-broker";
import mqtt, { type IPublishPacket } from "mqtt";
import { createRequire } from "node:module";
import helper from "node-red-node-test-helper";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mqttTlsNodes } from "../src/index.js";
import type { FlowMessage, NodeStatus } from "../src/red.js";
import { NODE_RED_PACKAGE } from "./node-red-version.js";

const require = createRequire(import.meta.url);
helper.init(require.resolve(NODE_RED_PACKAGE));

const KEY_PASSPHRASE = "key-passphrase-7Qx";
const P12_PASSPHRASE = "bundle-passphrase-3Zk";
const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64");

let pki: TestPki;
let otherPki: TestPki;
let broker: TestBroker;
beforeAll(async () => {
  pki = await createTestPki({ name: "node-red-nodes" });
  otherPki = await createTestPki({ name: "node-red-other-ca" });
  broker = await startTestBroker({ pki, requireClientCert: true });
});
afterAll(async () => {
  await broker?.close();
  await pki?.cleanup();
  await otherPki?.cleanup();
});
afterEach(async () => {
  await helper.unload();
});

/** A flow: broker config node, an in node wired to a helper node, and an out node. */
function flow(config: object, inTopic = "plant/+/level", extraIn: Record<string, unknown> = {}) {
  return [
    { id: "broker", type: "mqtt-tls-broker", name: "plant broker", config },
    {
      id: "in",
      type: "mqtt-tls in",
      broker: "broker",
      topic: inTopic,
      qos: "1",
      wires: [["sink"]],
      ...extraIn,
    },
    { id: "out", type: "mqtt-tls out", broker: "broker", topic: "", qos: "", retain: "", wires: [] },
    { id: "sink", type: "helper" },
  ];
}

interface Spied {
  on(event: "input", listener: (msg: FlowMessage) => void): void;
  on(event: "call:status", listener: (call: { args: [NodeStatus] }) => void): void;
  on(event: "call:error", listener: (call: { args: unknown[] }) => void): void;
  receive(msg: FlowMessage): void;
}
const node = (id: string) => helper.getNode(id) as Spied;

/** Resolves with the first status of node `id` that `match` accepts (statuses set before are seen too). */
function statusOf(id: string, match: (s: NodeStatus) => boolean, timeoutMs = 10_000): Promise<NodeStatus> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching status of ${id}`)), timeoutMs);
    node(id).on("call:status", ({ args: [status] }) => {
      if (match(status)) {
        clearTimeout(timer);
        resolve(status);
      }
    });
  });
}
const connected = (s: NodeStatus) => s.text?.startsWith("connected") === true;

/** Everything the runtime logged, and every status shown: where a secret must never appear. */
function everythingShown(): string {
  const log = helper.log() as { args: unknown[][] };
  return JSON.stringify(log.args, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
}

const mutualConfig = (url: string, trust = "upload:ca.der") => ({
  broker: { url, protocolVersion: 4, keepaliveSeconds: 5 },
  security: {
    enableTls: true,
    checkServerCertificate: true,
    trustStore: [trust],
    sendClientCertificate: true,
    keyStore: { certificate: "upload:client-chain.pem", privateKey: "upload:client.key" },
  },
});

describe("mqtt-tls in/out on the dev broker over mutual TLS", () => {
  it("carries messages out and in, with a DER trust store and an encrypted key uploaded as bytes", async () => {
    const statuses: NodeStatus[] = [];
    await helper.load(mqttTlsNodes, flow(mutualConfig(broker.url)), {
      broker: {
        passphrase: KEY_PASSPHRASE,
        trustStore: b64(pki.root.certDer),
        certificate: b64(pki.client.chain),
        privateKey: b64(pki.client.exportKey({ passphrase: KEY_PASSPHRASE })),
      },
    });
    node("in").on("call:status", ({ args: [s] }) => statuses.push(s));
    const shown = await statusOf("in", connected);
    expect(shown).toMatchObject({ fill: "green", shape: "dot" });
    expect(shown.text).toMatch(/^connected, TLSv1\.[23]$/);

    const received = new Promise<FlowMessage>((resolve) => node("sink").on("input", resolve));
    // The in node subscribed once connected: give the SUBACK a moment by publishing until something arrives.
    const sender = setInterval(
      () => node("out").receive({ topic: "plant/line1/level", payload: { value: 72.4 }, qos: 1 }),
      100,
    );
    const msg = await received.finally(() => clearInterval(sender));
    expect(msg).toMatchObject({
      topic: "plant/line1/level",
      payload: '{"value":72.4}',
      qos: 1,
      retain: false,
    });
    expect(broker.connections.some((c) => c.certificate?.subjectCn === "client")).toBe(true);

    const all = everythingShown() + JSON.stringify(statuses) + JSON.stringify(msg);
    expect(all).not.toContain(KEY_PASSPHRASE);
    expect(all).not.toContain(pki.client.key.split("\n")[1]);
  });

  it("opens a PKCS#12 key store with its passphrase", async () => {
    const config = mutualConfig(broker.url);
    config.security.keyStore = { pkcs12: "upload:plc.p12" } as never;
    await helper.load(mqttTlsNodes, flow(config), {
      broker: {
        passphrase: P12_PASSPHRASE,
        trustStore: b64(pki.caPem),
        pkcs12: b64(pki.client.toPkcs12({ passphrase: P12_PASSPHRASE })),
      },
    });
    await statusOf("in", connected);
    expect(everythingShown()).not.toContain(P12_PASSPHRASE);
  });

  it("shows the finding code and cause when the broker's CA is not the one uploaded, and says so to a sender", async () => {
    await helper.load(mqttTlsNodes, flow(mutualConfig(broker.url)), {
      broker: {
        passphrase: KEY_PASSPHRASE,
        trustStore: b64(otherPki.root.certDer),
        certificate: b64(pki.client.chain),
        privateKey: b64(pki.client.exportKey({ passphrase: KEY_PASSPHRASE })),
      },
    });
    const inStatus = await statusOf("in", (s) => s.fill === "red");
    expect(inStatus.text).toMatch(/^SERVER_CERT_UNTRUSTED: \S/);
    const outStatus = await statusOf("out", (s) => s.fill === "red");
    expect(outStatus.text).toBe(inStatus.text);

    const failed = new Promise<unknown[]>((resolve) =>
      node("out").on("call:error", ({ args }) => resolve(args)),
    );
    node("out").receive({ topic: "plant/line1/level", payload: "1" });
    const [error] = await failed;
    expect(String(error)).toContain("SERVER_CERT_UNTRUSTED");
    expect(everythingShown()).toContain("SERVER_CERT_UNTRUSTED");
    expect(everythingShown()).not.toContain(KEY_PASSPHRASE);
  });

  it("names a missing passphrase and does not retry a configuration that cannot connect", async () => {
    const shown: NodeStatus[] = [];
    await helper.load(mqttTlsNodes, flow(mutualConfig(broker.url)), {
      broker: {
        trustStore: b64(pki.root.certDer),
        certificate: b64(pki.client.chain),
        privateKey: b64(pki.client.exportKey({ passphrase: KEY_PASSPHRASE })),
      },
    });
    node("in").on("call:status", ({ args: [s] }) => shown.push(s));
    const status = await statusOf("in", (s) => s.fill === "red");
    expect(status.text).toMatch(/^KEY_ENCRYPTED_NO_PASSPHRASE: /);
    // A retry would show "connecting" again after its backoff (1 s at most for the first).
    await new Promise((r) => setTimeout(r, 2500));
    const afterFailure = shown.slice(shown.findIndex((s) => s.fill === "red"));
    expect(afterFailure.length).toBeGreaterThan(0);
    expect(afterFailure.filter((s) => s.text === "connecting")).toEqual([]);
    expect(shown.at(-1)).toEqual(status);
  });

  it("a redeploy while the broker is gone does not hang on acknowledgements that never come", async () => {
    const doomed = await startTestBroker({ pki, requireClientCert: true });
    await helper.load(mqttTlsNodes, flow(mutualConfig(doomed.url)), {
      broker: {
        trustStore: b64(pki.caPem),
        certificate: b64(pki.client.chain),
        privateKey: b64(pki.client.key),
      },
    });
    await statusOf("in", connected);
    await doomed.close();
    await statusOf("in", (s) => !connected(s));
    // A QoS 1 message queued while offline would keep a clean end waiting for its PUBACK.
    node("out").receive({ topic: "plant/line1/level", payload: "1", qos: 1 });
    const started = Date.now();
    await helper.unload();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("a DER file where PEM is read as text would be is still a certificate: never a corrupted upload", async () => {
    // The core tls-config node would have read these bytes as UTF-8; here the same bytes connect.
    await helper.load(mqttTlsNodes, flow(mutualConfig(broker.url)), {
      broker: {
        trustStore: b64(pki.root.certDer),
        certificate: b64(pki.client.certDer),
        privateKey: b64(pki.client.exportKey({ format: "der" })),
      },
    });
    await statusOf("in", connected);
  });
});

const skipMosquitto = mosquittoSkipReason();
describe.skipIf(skipMosquitto)("mqtt-tls in/out on Mosquitto (MQTT 5)", () => {
  let mosquitto: MosquittoBroker;
  beforeAll(async () => {
    mosquitto = await startMosquitto({ pki, requireCertificate: true });
  });
  afterAll(async () => {
    await mosquitto?.close();
  });

  it("carries MQTT 5 properties, QoS and retain out and in", async () => {
    const config = mutualConfig(mosquitto.url);
    (config.broker as { protocolVersion: number }).protocolVersion = 5;
    await helper.load(mqttTlsNodes, flow(config, "plant/#", { datatype: "json" }), {
      broker: {
        trustStore: b64(pki.caPem),
        certificate: b64(pki.client.chain),
        privateKey: b64(pki.client.key),
      },
    });
    await statusOf("out", connected);
    node("out").receive({
      topic: "plant/line2/state",
      payload: { running: true },
      qos: 1,
      retain: true,
      userProperties: { line: "2" },
      contentType: "application/json",
      responseTopic: "plant/line2/reply",
      correlationData: Buffer.from("c-42"),
    });
    const msg = await new Promise<FlowMessage>((resolve) => node("sink").on("input", resolve));
    expect(msg).toMatchObject({
      topic: "plant/line2/state",
      payload: { running: true },
      qos: 1,
      userProperties: { line: "2" },
      contentType: "application/json",
      responseTopic: "plant/line2/reply",
    });
    expect(Buffer.from(msg.correlationData as Uint8Array).toString()).toBe("c-42");

    // The broker kept it as retained: a subscriber that comes later gets it with the retain flag.
    const later = await mqtt.connectAsync(mosquitto.url, {
      ca: pki.caPem,
      cert: pki.client.chain,
      key: pki.client.key,
      clientId: "later-subscriber",
      reconnectPeriod: 0,
    });
    try {
      const retained = new Promise<IPublishPacket>((resolve) =>
        later.on("message", (_t, _p, packet) => resolve(packet)),
      );
      await later.subscribeAsync("plant/line2/state");
      const packet = await retained;
      expect(packet.retain).toBe(true);
      expect(JSON.parse(packet.payload.toString())).toEqual({ running: true });
    } finally {
      await later.endAsync(true);
    }
  });

  it("shows CLIENT_CERT_REJECTED when Mosquitto does not trust the client's CA", async () => {
    const strict = await startMosquitto({ pki, requireCertificate: true, caFile: otherPki.caFile });
    try {
      await helper.load(mqttTlsNodes, flow(mutualConfig(strict.url, "upload:ca.pem")), {
        broker: {
          trustStore: b64(pki.caPem),
          certificate: b64(pki.client.chain),
          privateKey: b64(pki.client.key),
        },
      });
      const status = await statusOf("in", (s) => s.fill === "red");
      expect(status.text).toMatch(/^CLIENT_CERT_REJECTED: /);
    } finally {
      await helper.unload();
      await strict.close();
    }
  });
});
