import { createTestPki, type TestPki } from "@proj/pki";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCoreBroker } from "./core-nodes.js";
import { topicMatches } from "./topic-filter.js";
import { statusOf } from "./status.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "node-red-core" });
});
afterAll(async () => {
  await pki?.cleanup();
});

const broker = (extra: Record<string, unknown> = {}) => ({
  id: "b1",
  type: "mqtt-broker",
  broker: "localhost",
  port: "8883",
  usetls: true,
  tls: "t1",
  ...extra,
});
const tls = (extra: Record<string, unknown> = {}) => ({
  id: "t1",
  type: "tls-config",
  name: "plant TLS",
  cert: "",
  key: "",
  ca: "",
  verifyservercert: true,
  ...extra,
});
const codes = (r: { findings: { code: string }[] }) => r.findings.map((f) => f.code);

describe("the traps of Node-RED's core mqtt-broker + tls-config", () => {
  it("an mqtts:// URL with Use TLS unticked checks no certificate", async () => {
    const read = await readCoreBroker(broker({ broker: "mqtts://plc.local:8883", usetls: false }), tls());
    expect(codes(read)).toEqual(["NODE_RED_MQTTS_WITHOUT_TLS"]);
    expect(read.findings[0]?.message).toContain("ignores the TLS configuration");
    expect(read.config.security).toMatchObject({ enableTls: true, checkServerCertificate: false });
  });

  it("Verify server certificate unticked", async () => {
    const read = await readCoreBroker(broker(), tls({ verifyservercert: false, ca: pki.caFile }));
    expect(codes(read)).toEqual(["NODE_RED_VERIFY_OFF"]);
  });

  it("a CA path the runtime cannot read falls back to the system CAs", async () => {
    const read = await readCoreBroker(broker(), tls({ ca: "/nowhere/ca.pem" }));
    expect(codes(read)).toEqual(["NODE_RED_CA_UNREADABLE_FALLBACK"]);
    expect(read.findings[0]?.message).toContain("/nowhere/ca.pem");
    expect(read.config.security).not.toHaveProperty("trustStore");
  });

  it("one unreadable path makes the whole TLS configuration invalid: its readable CA is dropped too", async () => {
    const read = await readCoreBroker(
      broker(),
      tls({ ca: pki.caFile, cert: "/nowhere/c.pem", key: pki.client.files.key }),
    );
    expect(codes(read)).toEqual(["NODE_RED_CA_UNREADABLE_FALLBACK", "FILE_NOT_FOUND"]);
    expect(read.findings[0]?.message).toContain("/nowhere/c.pem");
    expect(read.config.security).not.toHaveProperty("trustStore");
    expect(read.config.security).not.toHaveProperty("keyStore");
  });

  it("a certificate uploaded without its key: nothing of the node is used", async () => {
    const read = await readCoreBroker(broker(), tls(), {}, { cadata: pki.caPem, certdata: pki.client.chain });
    expect(codes(read)).toEqual(["NODE_RED_CA_UNREADABLE_FALLBACK"]);
    const noCa = await readCoreBroker(broker(), tls(), {}, { certdata: pki.client.chain });
    expect(codes(noCa)).toEqual(["KEY_STORE_MISSING"]);
  });

  it("with any path set, Node-RED ignores the uploads", async () => {
    const read = await readCoreBroker(broker(), tls({ ca: pki.caFile }), {}, { certdata: "x", keydata: "y" });
    expect(read.findings).toEqual([]);
    expect(read.config.security).toMatchObject({ trustStore: [pki.caFile], sendClientCertificate: false });
  });

  it("a DER file uploaded as UTF-8 text is corrupted", async () => {
    const corrupted = pki.root.certDer.toString("utf8");
    const read = await readCoreBroker(broker(), tls(), {}, { cadata: corrupted });
    expect(codes(read)).toEqual(["NODE_RED_UPLOAD_NOT_PEM"]);
    expect(read.findings[0]?.message).toContain("read it as UTF-8");
  });

  it("a sound pair reads into the same connection, with its uploads and credentials", async () => {
    const read = await readCoreBroker(
      broker({ clientid: "line1", protocolVersion: "5" }),
      tls({ servername: "broker.plant" }),
      { user: "plc", password: "pw" },
      { cadata: pki.caPem, certdata: pki.client.chain, keydata: pki.client.key, passphrase: "kp" },
    );
    expect(read.findings).toEqual([]);
    expect(read.config).toEqual({
      broker: {
        url: "mqtts://localhost:8883",
        clientId: "line1",
        username: "plc",
        password: "pw",
        protocolVersion: 5,
      },
      security: {
        enableTls: true,
        checkServerCertificate: true,
        sendClientCertificate: true,
        trustStore: [pki.caPem],
        keyStore: { certificate: pki.client.chain, privateKey: pki.client.key, passphrase: "kp" },
        serverName: "broker.plant",
      },
    });
  });

  it("reads a port given as a number, and the broker node's verify setting where the TLS node has none", async () => {
    const read = await readCoreBroker(
      broker({ port: 8884, verifyservercert: true }),
      tls({ verifyservercert: undefined, ca: pki.caFile }),
    );
    expect(read.config.broker).toEqual({ url: "mqtts://localhost:8884" });
    expect(read.findings).toEqual([]);
    expect(read.config.security).toMatchObject({ checkServerCertificate: true });
  });

  it("plain MQTT has no TLS findings of its own", async () => {
    const read = await readCoreBroker(broker({ usetls: false, port: "1883", tls: "" }), undefined);
    expect(read.findings).toEqual([]);
    expect(read.config.broker).toEqual({ url: "mqtt://localhost:1883" });
    expect(read.config.security).toEqual({ enableTls: false });
  });
});

describe("helpers", () => {
  it("topic filters", () => {
    expect(topicMatches("plant/+/level", "plant/line1/level")).toBe(true);
    expect(topicMatches("plant/#", "plant")).toBe(true);
    expect(topicMatches("plant/+", "plant/a/b")).toBe(false);
    expect(topicMatches("#", "$SYS/broker")).toBe(false);
    expect(topicMatches("$share/g/plant/+", "plant/x")).toBe(true);
  });

  it("a status names the code and a short cause on one line", () => {
    const status = statusOf({
      code: "SERVER_CERT_UNTRUSTED",
      message:
        "The broker's certificate was issued by a CA that is not in the trust store, so it cannot be trusted at all. Put it there.",
    });
    expect(status.fill).toBe("red");
    expect(status.text).toMatch(/^SERVER_CERT_UNTRUSTED: The broker's certificate was issued by .{10,}…$/);
    expect(status.text!.length).toBeLessThanOrEqual(24 + 60);
  });
});
