import type { Finding } from "@proj/findings";
import { connectSecure } from "@proj/mqtt-tls";
import {
  createTestPki,
  rabbitMqSkipReason,
  startRabbitMq,
  type RabbitMq,
  type TestPki,
} from "@proj/test-broker";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonDocument } from "./json-document.js";
import { runBin } from "./run-bin.js";

// RabbitMQ 3.10 (Debian) with its MQTT plugin: two clustered nodes, each configured with what `rabbitmq-conf`
// writes. A node takes 8 to 16 s to start, so they start once for this file.
describe.skipIf(rabbitMqSkipReason())("RabbitMQ 3.x over TLS, two clustered nodes", () => {
  let pki: TestPki;
  let work: string;
  let rabbit: RabbitMq;
  const urls: string[] = [];
  const generated: string[] = [];

  const writeConfig = async (name: string, url: string | string[], broker: Record<string, unknown> = {}) => {
    const file = join(work, `${name}.json`);
    await writeFile(
      file,
      JSON.stringify({
        broker: { url, clientId: name, protocolVersion: 4, connectTimeoutMs: 5000, ...broker },
        security: {
          trustStore: [pki.caFile],
          sendClientCertificate: true,
          keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
        },
      }),
    );
    return file;
  };
  const doctor = async (config: string) => {
    const result = await runBin(["doctor", "-c", config, "--json"], { cwd: work });
    return { code: result.code, doc: jsonDocument(result.stdout) };
  };
  const codes = (doc: Record<string, unknown>) => (doc.findings as Finding[]).map((f) => f.code);

  beforeAll(async () => {
    pki = await createTestPki({ name: "rabbitmq" });
    work = await mkdtemp(join(tmpdir(), "mqtt-tls-rabbitmq-test-"));
    rabbit = await startRabbitMq({
      nodes: 2,
      config: async ({ mqttPort, index }) => {
        const url = `mqtts://127.0.0.1:${mqttPort}`;
        urls[index] = url;
        const config = await writeConfig(`node-${index + 1}`, url);
        const result = await runBin(
          [
            "rabbitmq-conf",
            "-c",
            config,
            "--certfile",
            pki.server.files.chain,
            "--keyfile",
            pki.server.files.key,
          ],
          { cwd: work },
        );
        if (result.code !== 0) throw new Error(`rabbitmq-conf failed: ${result.stderr}`);
        generated[index] = result.stdout;
        return result.stdout;
      },
    });
  }, 90_000);
  afterAll(async () => {
    await rabbit?.close();
    await pki?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("rabbitmq-conf writes the TLS listener RabbitMQ starts with: mutual TLS, ssl_cert_login, loopback", () => {
    for (const line of [
      "mqtt.listeners.tcp = none",
      `mqtt.listeners.ssl.default = 127.0.0.1:${new URL(urls[0]!).port}`,
      `ssl_options.cacertfile = ${pki.caFile}`,
      `ssl_options.certfile = ${pki.server.files.chain}`,
      "ssl_options.verify = verify_peer",
      "ssl_options.fail_if_no_peer_cert = true",
      "ssl_options.versions.1 = tlsv1.3",
      "ssl_options.versions.2 = tlsv1.2",
      "mqtt.ssl_cert_login = true",
      "ssl_cert_login_from = common_name",
      "#   rabbitmqctl add_user 'client' \"$(openssl rand -hex 24)\" && rabbitmqctl clear_password 'client'",
    ])
      expect(generated[0]).toContain(`${line}\n`);
  });

  it("names a certificate whose CN is no RabbitMQ user CLIENT_IDENTITY_UNKNOWN, with the user to add", async () => {
    const { code, doc } = await doctor(await writeConfig("unknown-user", urls[0]!));
    expect(code).toBe(1);
    const [first] = doc.findings as Finding[];
    expect(first).toMatchObject({
      code: "CLIENT_IDENTITY_UNKNOWN",
      message: expect.stringContaining('has no user "client"'),
      remedy: expect.stringContaining("rabbitmqctl add_user 'client'"),
    });
    expect(codes(doc)).not.toContain("MQTT_CONNECT_REFUSED");
  });

  it("answers an MQTT 5 client MQTT_VERSION_UNSUPPORTED, not a refused certificate", async () => {
    const { code, doc } = await doctor(await writeConfig("mqtt5-plc", urls[0]!, { protocolVersion: 5 }));
    expect(code).toBe(1);
    expect((doc.findings as Finding[])[0]).toMatchObject({
      code: "MQTT_VERSION_UNSUPPORTED",
      remedy: expect.stringContaining('"protocolVersion": 4'),
    });
    expect(codes(doc)).not.toContain("CLIENT_CERT_REJECTED");
  });

  it("with the user added, doctor reports both nodes, the broker kind and its QoS 2 downgrade", async () => {
    await rabbit.addCertificateUser("client");
    const { code, doc } = await doctor(await writeConfig("both-nodes", urls));
    expect(code).toBe(0);
    const connection = doc.connection as Record<string, unknown>;
    expect(connection).toMatchObject({ connected: true, brokerKind: "rabbitmq" });
    expect(connection.nodes).toEqual(
      urls.map((url) => expect.objectContaining({ url, connected: true, brokerKind: "rabbitmq" })),
    );
    expect(doc.findings).toEqual([expect.objectContaining({ code: "QOS_DOWNGRADED", severity: "info" })]);
  });

  it("loses no QoS 1 message when the node the publisher is on is killed; doctor then says which node is down", async () => {
    const fast = { backoff: { minMs: 50, maxMs: 500 } };
    await using subscriber = await connectSecure(
      await writeConfig("historian", urls[0]!, { cleanSession: false }),
      fast,
    );
    const diagnoses: Finding[] = [];
    subscriber.on("diagnosis", (finding) => diagnoses.push(finding));
    const seen = new Set<string>();
    subscriber.on("message", (_topic, payload) => seen.add(payload.toString()));
    await subscriber.subscribe("plant/stream/#", { qos: 2 });
    // RabbitMQ has no QoS 2: the client says so when the grant comes back lower.
    expect(diagnoses.map((f) => f.code)).toEqual(["QOS_DOWNGRADED"]);

    await using publisher = await connectSecure(await writeConfig("line1-plc", [urls[1]!, urls[0]!]), fast);
    const total = 600;
    const sent: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      sent.push(publisher.publish("plant/stream/level", String(i), { qos: 1 }));
      if (i === 200) await rabbit.nodes[1]!.kill();
    }
    await Promise.all(sent);
    const deadline = Date.now() + 20_000;
    const settled = () => seen.size === total && publisher.nodes[0]!.state === "down";
    while (!settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(seen.size).toBe(total);
    // The node it left is checked from the other one, and found down.
    expect(publisher.nodes.map((n) => n.state)).toEqual(["down", "connected"]);

    const { code, doc } = await doctor(await writeConfig("after-kill", urls));
    expect(code).toBe(0);
    expect((doc.findings as Finding[])[0]).toMatchObject({
      code: "BROKER_NODE_DOWN",
      severity: "warning",
      path: "broker.url[1]",
      message: expect.stringContaining(`${urls[1]} is down (BROKER_UNREACHABLE`),
    });
  });
});
