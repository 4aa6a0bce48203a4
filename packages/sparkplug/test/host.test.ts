// Conformance of the primary host application against a real Mosquitto over mutual TLS, and interop with an edge
// node written outside this project (Eclipse Tahu's sparkplug-client for Node). Tests name the TCK ids they check.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IConnectPacket, IPublishPacket } from "mqtt-packet";
import { createRequire } from "node:module";
import { startEdgeNode } from "../src/edge-node.js";
import { startPrimaryHost, type HostEvent, type PrimaryHost } from "../src/host.js";
import { snapshotNode } from "../src/host-model.js";
import { encodePayload, type Metric } from "../src/payload.js";
import { parseState } from "../src/state.js";
import { packetsOf, payloadOf, skipMosquitto, startLab, type Lab, type Observer } from "./wire.js";

const eventsOf = (host: PrimaryHost, type: HostEvent["type"]) => host.events.filter((e) => e.type === type);

/** A hand-driven edge node: publishes exactly the bytes a test needs, seq and all. */
function fakeNode(obs: Observer, node: string) {
  const topic = (type: string, device?: string) => `spBv1.0/G/${type}/${node}${device ? `/${device}` : ""}`;
  return {
    birth: (
      bdSeq: bigint,
      seq = 0,
      metrics: Metric[] = [{ name: "Temp", alias: 1, datatype: "Int32", value: 20 }],
    ) =>
      obs.publish(
        topic("NBIRTH"),
        encodePayload({
          timestamp: Date.now(),
          seq,
          metrics: [
            { name: "bdSeq", datatype: "Int64", value: bdSeq },
            { name: "Node Control/Rebirth", datatype: "Boolean", value: false },
            ...metrics,
          ],
        }),
      ),
    data: (seq: number, value: number, device?: string) =>
      obs.publish(
        topic(device ? "DDATA" : "NDATA", device),
        encodePayload(
          { timestamp: Date.now(), seq, metrics: [{ alias: device ? 2 : 1, value }] },
          { datatypeOf: () => "Int32" },
        ),
      ),
    dbirth: (seq: number, device: string) =>
      obs.publish(
        topic("DBIRTH", device),
        encodePayload({
          timestamp: Date.now(),
          seq,
          metrics: [{ name: "Level", alias: 2, datatype: "Int32", value: 5 }],
        }),
      ),
    ddeath: (seq: number, device: string) =>
      obs.publish(topic("DDEATH", device), encodePayload({ timestamp: Date.now(), seq, metrics: [] })),
    death: (bdSeq: bigint) =>
      obs.publish(
        topic("NDEATH"),
        encodePayload({
          timestamp: Date.now(),
          metrics: [{ name: "bdSeq", datatype: "Int64", value: bdSeq }],
        }),
        { qos: 1 },
      ),
  };
}

describe.skipIf(skipMosquitto)("primary host application on Mosquitto over mutual TLS", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab();
  });
  afterAll(async () => {
    await lab?.[Symbol.asyncDispose]();
  });

  const host = async (
    hostId: string,
    options: Parameters<typeof startPrimaryHost>[1] = {},
    protocolVersion: 4 | 5 = 4,
  ) => startPrimaryHost(await lab.config(hostId, { protocolVersion }), { hostId, ...options });

  it("publishes its STATE birth (retained, QoS 1, 3.0 JSON) after subscribing, with its Will's timestamp", async () => {
    const obs = await lab.observer();
    const before = Date.now();
    const scada = await host("state-host", {}, 5);
    const birth = await obs.next((m) => m.topic === "spBv1.0/STATE/state-host");
    // tck-id-host-topic-phid-birth-topic, tck-id-host-topic-phid-birth-qos, tck-id-host-topic-phid-birth-retain,
    // tck-id-payloads-state-birth, tck-id-operational-behavior-host-application-connect-birth,
    // tck-id-operational-behavior-host-application-connect-birth-topic,
    // tck-id-operational-behavior-host-application-connect-birth-qos,
    // tck-id-operational-behavior-host-application-connect-birth-retained, tck-id-intro-sparkplug-host-state,
    // tck-id-components-ph-state, tck-id-conformance-primary-host
    expect([birth.qos, birth.retain]).toEqual([1, true]);
    // tck-id-host-topic-phid-birth-payload, tck-id-payloads-state-birth-payload,
    // tck-id-operational-behavior-host-application-connect-birth-payload,
    // tck-id-message-flow-phid-sparkplug-state-publish-payload
    const online = parseState(birth.bytes)!;
    expect(JSON.parse(birth.bytes.toString())).toEqual({ online: true, timestamp: online.timestamp });
    expect(online.timestamp).toBeGreaterThanOrEqual(before - 1000);
    // Kill the socket: Mosquitto publishes the Will; the next session's CONNECT and STATE are watched.
    const packets = packetsOf(scada.client);
    scada.client.mqtt.stream.destroy();
    const will = await obs.next(
      (m) => m.topic === "spBv1.0/STATE/state-host" && parseState(m.bytes)?.online === false,
    );
    // tck-id-conformance-mqtt-will-messages, tck-id-conformance-mqtt-retained, tck-id-conformance-mqtt-qos1 (the
    // broker delivers a retained QoS 1 Will), tck-id-host-topic-phid-death-required, tck-id-host-topic-phid-death-topic,
    // tck-id-host-topic-phid-death-qos,
    // tck-id-host-topic-phid-death-retain, tck-id-host-topic-phid-death-payload, tck-id-payloads-state-will-message,
    // tck-id-payloads-state-will-message-qos, tck-id-payloads-state-will-message-retain,
    // tck-id-payloads-state-will-message-payload, tck-id-operational-behavior-host-application-connect-will,
    // tck-id-operational-behavior-host-application-connect-will-topic,
    // tck-id-operational-behavior-host-application-connect-will-payload,
    // tck-id-operational-behavior-host-application-connect-will-qos,
    // tck-id-operational-behavior-host-application-connect-will-retained,
    // tck-id-operational-behavior-host-application-death-topic,
    // tck-id-operational-behavior-host-application-death-payload,
    // tck-id-operational-behavior-host-application-death-qos,
    // tck-id-operational-behavior-host-application-death-retained
    expect([will.qos, will.retain]).toEqual([1, true]);
    // tck-id-host-topic-phid-birth-payload-timestamp,
    // tck-id-message-flow-phid-sparkplug-state-publish-payload-timestamp
    expect(parseState(will.bytes)?.timestamp).toBe(online.timestamp);
    await expect.poll(() => scada.client.state, { timeout: 8000 }).toBe("connected");
    // The CONNECT of the session that is up now (a first attempt may have failed while Mosquitto dropped the old one).
    const connect = packets.filter((p): p is IConnectPacket => p.cmd === "connect").at(-1)!;
    // tck-id-message-flow-phid-sparkplug-clean-session-50; tck-id-host-topic-phid-death-payload-timestamp-connect
    expect(connect.clean).toBe(true);
    expect(connect.properties?.sessionExpiryInterval ?? 0).toBe(0);
    expect(connect.will).toMatchObject({ topic: "spBv1.0/STATE/state-host", qos: 1, retain: true });
    const willTimestamp = JSON.parse(String(connect.will!.payload)).timestamp as number;
    expect(willTimestamp).toBeGreaterThanOrEqual(online.timestamp);
    // The STATE birth of this session carries its Will's timestamp.
    await obs.next(
      (m) =>
        m.topic === "spBv1.0/STATE/state-host" &&
        parseState(m.bytes)?.online === true &&
        parseState(m.bytes)?.timestamp === willTimestamp,
      8000,
      obs.seen.indexOf(will),
    );
    // tck-id-host-topic-phid-birth-sub-required, tck-id-payloads-state-subscribe,
    // tck-id-message-flow-phid-sparkplug-subscription, tck-id-host-topic-phid-birth-required,
    // tck-id-host-topic-phid-birth-message, tck-id-message-flow-phid-sparkplug-state-publish: SUBSCRIBE (own STATE
    // and the namespace) before the STATE birth, which is its first PUBLISH
    const subscribe = packets.findIndex((p) => p.cmd === "subscribe");
    const firstPublish = packets.findIndex((p) => p.cmd === "publish");
    expect(subscribe).toBeGreaterThan(-1);
    expect(subscribe).toBeLessThan(firstPublish);
    expect((packets[firstPublish] as IPublishPacket).topic).toBe("spBv1.0/STATE/state-host");
    const topics = (packets[subscribe] as { subscriptions: { topic: string }[] }).subscriptions.map(
      (s) => s.topic,
    );
    expect(topics).toEqual(expect.arrayContaining(["spBv1.0/STATE/state-host", "spBv1.0/#"]));
    // tck-id-message-flow-hid-sparkplug-state-message-delivered: told it is offline, it says online again
    const mark = obs.seen.length;
    await obs.publish("spBv1.0/STATE/state-host", JSON.stringify({ online: false, timestamp: Date.now() }), {
      qos: 1,
      retain: true,
    });
    const corrected = await obs.next(
      (m) => m.topic === "spBv1.0/STATE/state-host" && parseState(m.bytes)?.online === true,
      8000,
      mark,
    );
    expect(parseState(corrected.bytes)?.timestamp).toBe(willTimestamp);
    // tck-id-operational-behavior-host-application-termination,
    // tck-id-host-topic-phid-death-payload-timestamp-disconnect-clean,
    // tck-id-operational-behavior-host-application-disconnect-intentional
    const stopping = Date.now();
    const stopMark = obs.seen.length;
    await scada.stop();
    const offline = await obs.next(
      (m) => m.topic === "spBv1.0/STATE/state-host" && parseState(m.bytes)?.online === false,
      8000,
      stopMark,
    );
    expect([offline.qos, offline.retain]).toEqual([1, true]);
    expect(parseState(offline.bytes)!.timestamp).toBeGreaterThanOrEqual(stopping);
    await obs.publish("spBv1.0/STATE/state-host", "", { qos: 1, retain: true });
  });

  it("connects with a clean session under MQTT 3.1.1 (tck-id-message-flow-phid-sparkplug-clean-session-311)", async () => {
    const obs = await lab.observer();
    await using scada = await host("clean-host", { backoff: { minMs: 50, maxMs: 200 } }, 4);
    await obs.next((m) => m.topic === "spBv1.0/STATE/clean-host" && parseState(m.bytes)?.online === true);
    const packets = packetsOf(scada.client);
    scada.client.mqtt.stream.destroy();
    await expect.poll(() => packets.some((p) => p.cmd === "connect"), { timeout: 8000 }).toBe(true);
    const connect = packets.find((p): p is IConnectPacket => p.cmd === "connect")!;
    expect([connect.protocolVersion, connect.clean]).toEqual([4, true]);
    await obs.publish("spBv1.0/STATE/clean-host", "", { qos: 1, retain: true });
  });

  it("learns nodes, devices and metrics from births, and keeps values current from DATA", async () => {
    await using scada = await host("model-host");
    // tck-id-intro-group-id-string, tck-id-intro-edge-node-id-string, tck-id-intro-device-id-string: ids are UTF-8
    // strings; tck-id-topic-structure-namespace-duplicate-device-id-across-edge-node: another node's tank1 is its own
    await using other = await startEdgeNode(await lab.config("model-node-2"), {
      group: "Usine-Été",
      node: "model-node-2",
      devices: [{ id: "tank1", metrics: [{ name: "Level", datatype: "Float", value: 9 }] }],
    });
    await expect
      .poll(() => scada.nodes.get("Usine-Été/model-node-2")?.devices.get("tank1")?.online)
      .toBe(true);
    expect(other.stats.published.DBIRTH).toBe(1);
    await using edge = await startEdgeNode(await lab.config("model-node"), {
      group: "Plant1",
      node: "model-node",
      metrics: [
        { name: "Running", datatype: "Boolean", value: false },
        { name: "Total", datatype: "UInt64", value: 5n },
      ],
      devices: [
        {
          id: "tank1",
          metrics: [
            {
              name: "Level",
              datatype: "Float",
              value: 1.5,
              properties: { engUnit: { type: "String", value: "m" } },
            },
          ],
        },
      ],
    });
    await expect.poll(() => eventsOf(scada, "DBIRTH").length).toBe(1);
    await edge.update({ Running: true });
    await edge.update({ Level: 2.5 }, { device: "tank1" });
    const snapshot = () => snapshotNode(scada.nodes.get("Plant1/model-node")!);
    await expect.poll(() => snapshot().devices[0]?.metrics[0]?.value).toBe(2.5);
    const node = snapshot();
    expect(node).toMatchObject({ group: "Plant1", node: "model-node", online: true, bdSeq: 0 });
    expect(node.metrics.find((m) => m.name === "Running")).toMatchObject({
      datatype: "Boolean",
      value: true,
      stale: false,
    });
    // 64-bit values print as strings in JSON
    expect(node.metrics.find((m) => m.name === "Total")).toMatchObject({ datatype: "UInt64", value: "5" });
    expect(node.devices[0]).toMatchObject({
      device: "tank1",
      online: true,
      metrics: [
        { name: "Level", datatype: "Float", properties: { engUnit: { type: "String", value: "m" } } },
      ],
    });
  });

  it("marks a node, its devices and their metrics offline and stale on an NDEATH with the birth's bdSeq only", async () => {
    const obs = await lab.observer();
    await using scada = await host("death-host", { reorderTimeoutMs: 500 });
    const node = fakeNode(obs, "death-node");
    await node.birth(7n);
    await node.dbirth(1, "pump");
    await expect.poll(() => scada.nodes.get("G/death-node")?.devices.get("pump")?.online).toBe(true);
    await node.death(6n); // a Will of an older session: ignored
    await obs.quiet(300);
    expect(scada.nodes.get("G/death-node")?.online).toBe(true);
    await node.death(7n);
    await expect.poll(() => scada.nodes.get("G/death-node")?.online).toBe(false);
    const state = snapshotNode(scada.nodes.get("G/death-node")!);
    // tck-id-operational-behavior-edge-node-termination-host-action-ndeath-node-offline,
    // tck-id-operational-behavior-edge-node-termination-host-action-ndeath-node-tags-stale,
    // tck-id-operational-behavior-edge-node-termination-host-action-ndeath-devices-offline,
    // tck-id-operational-behavior-edge-node-termination-host-action-ndeath-devices-tags-stale
    expect(state.metrics.every((m) => m.stale)).toBe(true);
    expect(state.devices[0]).toMatchObject({ online: false, metrics: [{ stale: true }] });
    expect(eventsOf(scada, "NDEATH")).toMatchObject([{ group: "G", node: "death-node", bdSeq: 7 }]);
    // tck-id-operational-behavior-edge-node-termination-host-action-ddeath-devices-offline,
    // tck-id-operational-behavior-edge-node-termination-host-action-ddeath-devices-tags-stale
    await node.birth(8n);
    await node.dbirth(1, "pump");
    await expect.poll(() => scada.nodes.get("G/death-node")?.devices.get("pump")?.online).toBe(true);
    await node.ddeath(2, "pump");
    await expect.poll(() => scada.nodes.get("G/death-node")?.devices.get("pump")?.online).toBe(false);
    expect(snapshotNode(scada.nodes.get("G/death-node")!).devices[0]?.metrics[0]?.stale).toBe(true);
    expect(scada.nodes.get("G/death-node")?.online).toBe(true);
  });

  it("puts messages back in order within the reorder timeout, and asks for a rebirth when a gap stays open", async () => {
    const obs = await lab.observer();
    // tck-id-operational-behavior-host-reordering-param
    await using scada = await host("seq-host", { reorderTimeoutMs: 400, rebirthIntervalMs: 0 });
    const node = fakeNode(obs, "seq-node");
    const values: number[] = [];
    scada.on("data", (d) => values.push(d.metrics[0]!.value as number));
    await node.birth(1n);
    await expect.poll(() => scada.nodes.get("G/seq-node")?.online).toBe(true);
    // tck-id-operational-behavior-host-reordering-start, tck-id-operational-behavior-host-reordering-success: 2
    // before 1, both within the timeout
    await node.data(2, 22);
    await node.data(1, 21);
    await expect.poll(() => values).toEqual([21, 22]);
    // A repeat (or a late message) is behind what was handled: ignored, with a diagnosis, and no gap.
    const diagnoses: string[] = [];
    scada.on("diagnosis", (f) => diagnoses.push(f.message));
    await node.data(2, 99);
    await expect
      .poll(() => diagnoses.some((d) => /seq 2 came after seq 2: a repeat or a late message/.test(d)))
      .toBe(true);
    await obs.quiet(600);
    expect(values).toEqual([21, 22]);
    expect(eventsOf(scada, "SEQ_GAP")).toHaveLength(0);
    // No rebirth was asked for the reordering; only a host that reconnected (its keepalive missed on a loaded
    // machine) asks every node for one, by design.
    const rebirthsFor = (reason: RegExp) =>
      eventsOf(scada, "REBIRTH_REQUESTED").filter((e) =>
        reason.test(String((e as { reason?: string }).reason)),
      );
    expect(rebirthsFor(/^(?!the host reconnected)/)).toHaveLength(0);
    if (rebirthsFor(/the host reconnected/).length === 0) expect(obs.of("NCMD", "seq-node")).toHaveLength(0);
    // tck-id-operational-behavior-host-reordering-rebirth: 3 never comes
    const from = obs.seen.length;
    await node.data(4, 24);
    const ncmd = await obs.next((m) => m.parsed?.type === "NCMD", undefined, from);
    expect(eventsOf(scada, "SEQ_GAP")).toMatchObject([{ node: "seq-node", expected: 3, received: 4 }]);
    expect(values).toEqual([21, 22]); // what came after the gap is not taken as current
    // Until the rebirth, the node's values are not known to be current.
    expect(snapshotNode(scada.nodes.get("G/seq-node")!).metrics.find((m) => m.name === "Temp")?.stale).toBe(
      true,
    );
    // tck-id-operational-behavior-data-commands-ncmd-rebirth-verb,
    // tck-id-operational-behavior-data-commands-ncmd-rebirth-name,
    // tck-id-operational-behavior-data-commands-ncmd-rebirth-value, tck-id-topics-ncmd-topic,
    // tck-id-topics-ncmd-mqtt, tck-id-payloads-ncmd-qos, tck-id-payloads-ncmd-retain, tck-id-topics-ncmd-timestamp,
    // tck-id-payloads-ncmd-timestamp, tck-id-payloads-ncmd-seq (none)
    expect([ncmd.topic, ncmd.qos, ncmd.retain]).toEqual(["spBv1.0/G/NCMD/seq-node", 0, false]);
    const rebirth = payloadOf(ncmd);
    expect(rebirth.seq).toBeUndefined();
    expect(rebirth.timestamp).toBeTypeOf("number");
    expect(rebirth.metrics).toMatchObject([{ name: "Node Control/Rebirth", value: true }]);
    await expect.poll(() => rebirthsFor(/did not arrive within 400 ms/).length).toBe(1);
  });

  it("asks for a rebirth when DATA comes from a node or device it has no birth for", async () => {
    const obs = await lab.observer();
    await using scada = await host("unknown-host");
    const node = fakeNode(obs, "stranger");
    await node.data(5, 1);
    const ncmd = await obs.next((m) => m.topic === "spBv1.0/G/NCMD/stranger");
    expect(payloadOf(ncmd).metrics[0]).toMatchObject({ name: "Node Control/Rebirth", value: true });
    expect(eventsOf(scada, "REBIRTH_REQUESTED")[0]).toMatchObject({
      node: "stranger",
      reason: expect.stringContaining("without an NBIRTH"),
    });
  });

  it("writes by name: NCMD and DCMD by alias, typed as the birth says; the edge node gets them by name", async () => {
    const obs = await lab.observer();
    await using scada = await host("write-host");
    await using edge = await startEdgeNode(await lab.config("write-node"), {
      group: "Plant1",
      node: "write-node",
      metrics: [{ name: "Setpoint", datatype: "Int16", value: 0 }],
      devices: [{ id: "valve", metrics: [{ name: "Open", datatype: "Boolean", value: false }] }],
    });
    const commands: unknown[] = [];
    edge.on("command", (c) => commands.push(c));
    await expect.poll(() => scada.nodes.get("Plant1/write-node")?.devices.get("valve")?.online).toBe(true);
    await scada.write({ group: "Plant1", node: "write-node" }, { Setpoint: -5 });
    await scada.write({ group: "Plant1", node: "write-node", device: "valve" }, { Open: true });
    const ncmd = await obs.next((m) => m.topic === "spBv1.0/Plant1/NCMD/write-node");
    const dcmd = await obs.next((m) => m.topic === "spBv1.0/Plant1/DCMD/write-node/valve");
    // tck-id-topics-dcmd-topic, tck-id-topics-dcmd-mqtt, tck-id-payloads-dcmd-qos, tck-id-payloads-dcmd-retain,
    // tck-id-topics-dcmd-timestamp, tck-id-payloads-dcmd-timestamp, tck-id-payloads-dcmd-seq,
    // tck-id-operational-behavior-data-commands-ncmd-verb, tck-id-operational-behavior-data-commands-dcmd-verb
    for (const m of [ncmd, dcmd]) {
      expect([m.qos, m.retain]).toEqual([0, false]);
      const p = payloadOf(m, { datatypeOf: () => (m === ncmd ? "Int16" : "Boolean") });
      expect(p.seq).toBeUndefined();
      expect(p.timestamp).toBeTypeOf("number");
      // tck-id-payloads-alias-data-cmd-requirement (alias only), tck-id-topics-ncmd-payload,
      // tck-id-topics-dcmd-payload, tck-id-payloads-name-cmd-requirement,
      // tck-id-operational-behavior-data-commands-ncmd-metric-name,
      // tck-id-operational-behavior-data-commands-ncmd-metric-value,
      // tck-id-operational-behavior-data-commands-dcmd-metric-name,
      // tck-id-operational-behavior-data-commands-dcmd-metric-value
      expect(p.metrics[0]?.name).toBeUndefined();
      expect(p.metrics[0]?.alias).toBeTypeOf("number");
    }
    await expect
      .poll(() => commands)
      .toEqual([
        { metrics: [{ name: "Setpoint", datatype: "Int16", value: -5 }] },
        { device: "valve", metrics: [{ name: "Open", datatype: "Boolean", value: true }] },
      ]);
    await expect(scada.write({ group: "Plant1", node: "write-node" }, { Nope: 1 })).rejects.toMatchObject({
      code: "SPARKPLUG_METRIC_UNKNOWN",
    });
    await expect(
      scada.write({ group: "Plant1", node: "write-node" }, { Setpoint: 70_000 }),
    ).rejects.toMatchObject({ code: "SPARKPLUG_PAYLOAD_INVALID" });
    await expect(scada.write({ group: "Plant1", node: "nobody" }, { Setpoint: 1 })).rejects.toMatchObject({
      code: "NOT_RUNNING",
    });
  });

  it("reports a payload it cannot read as SPARKPLUG_PAYLOAD_INVALID and goes on", async () => {
    const obs = await lab.observer();
    await using scada = await host("bad-host");
    const findings: string[] = [];
    scada.on("diagnosis", (f) => findings.push(`${f.code}: ${f.message}`));
    await obs.publish("spBv1.0/G/NBIRTH/garbage", Buffer.from([0xff, 0xff, 0xff]));
    await obs.publish(
      "spBv1.0/G/NBIRTH/no-bdseq",
      encodePayload({ timestamp: 1, seq: 0, metrics: [{ name: "x", datatype: "Int8", value: 1 }] }),
    );
    await expect.poll(() => findings.length).toBeGreaterThanOrEqual(2);
    expect(findings[0]).toMatch(/^SPARKPLUG_PAYLOAD_INVALID: NBIRTH of G\/garbage/);
    expect(findings.some((f) => /no-bdseq.*has no bdSeq/.test(f))).toBe(true);
    await fakeNode(obs, "fine").birth(0n);
    await expect.poll(() => scada.nodes.get("G/fine")?.online).toBe(true);
  });
});

describe.skipIf(skipMosquitto)(
  "interop with Eclipse Tahu's sparkplug-client (an edge node written outside this project)",
  () => {
    let lab: Lab;
    beforeAll(async () => {
      lab = await startLab();
    });
    afterAll(async () => {
      await lab?.[Symbol.asyncDispose]();
    });

    it("our host learns a Tahu edge node's birth and data over mutual TLS, and writes to it", async () => {
      // Tahu's codec types a command's value from the metric's own datatype only: the host sends it for Tahu nodes.
      await using scada = await startPrimaryHost(await lab.config("tahu-host"), {
        hostId: "tahu-host",
        commandDatatypes: true,
      });
      const leaf = await lab.pki.issueClient({ name: "tahu-edge" });
      const require = createRequire(import.meta.url);
      const sparkplugClient = require("sparkplug-client") as {
        newClient(config: object): {
          on(event: string, listener: (...args: unknown[]) => void): void;
          publishNodeBirth(payload: object): void;
          publishNodeData(payload: object): void;
          stop(): void;
        };
      };
      const tahu = sparkplugClient.newClient({
        serverUrl: lab.broker.url,
        username: "tahu-edge",
        password: "",
        groupId: "Tahu",
        edgeNode: "tahu-edge",
        clientId: "tahu-edge",
        version: "spBv1.0",
        mqttOptions: {
          ca: lab.pki.caPem,
          cert: leaf.chain,
          key: leaf.key,
          rejectUnauthorized: true,
          reconnectPeriod: 0,
        },
      });
      const commands: unknown[] = [];
      tahu.on("ncmd", (payload) => commands.push(payload));
      try {
        await new Promise<void>((resolve, reject) => {
          tahu.on("birth", () => resolve());
          tahu.on("error", (e) => reject(e));
        });
        tahu.publishNodeBirth({
          timestamp: Date.now(),
          metrics: [
            { name: "Node Control/Rebirth", type: "Boolean", value: false },
            { name: "Level", type: "Double", value: 3.5 },
            { name: "Label", type: "String", value: "tank" },
          ],
        });
        await expect.poll(() => scada.nodes.get("Tahu/tahu-edge")?.online).toBe(true);
        tahu.publishNodeData({
          timestamp: Date.now(),
          metrics: [{ name: "Level", type: "Double", value: 4.25 }],
        });
        await expect
          .poll(() => scada.nodes.get("Tahu/tahu-edge")?.metrics.byName.get("Level")?.value)
          .toBe(4.25);
        expect(
          snapshotNode(scada.nodes.get("Tahu/tahu-edge")!).metrics.find((m) => m.name === "Label"),
        ).toMatchObject({ datatype: "String", value: "tank" });
        await scada.write({ group: "Tahu", node: "tahu-edge" }, { Level: 9.5 });
        await expect.poll(() => commands.length).toBe(1);
        expect(commands[0]).toMatchObject({ metrics: [{ name: "Level", type: "Double", value: 9.5 }] });
      } finally {
        tahu.stop();
      }
    });

    it("Tahu's codec reads our edge node's births and data from the wire", async () => {
      const obs = await lab.observer();
      await using edge = await startEdgeNode(await lab.config("to-tahu"), {
        group: "Plant1",
        node: "to-tahu",
        aliases: false,
        metrics: [{ name: "Speed", datatype: "Float", value: 12.5 }],
      });
      const birth = await obs.next((m) => m.parsed?.type === "NBIRTH");
      await edge.update({ Speed: 13.5 });
      const data = await obs.next((m) => m.parsed?.type === "NDATA");
      const require = createRequire(import.meta.url);
      const tahu = (
        require("sparkplug-payload") as {
          get(v: string): {
            decodePayload(b: Uint8Array): {
              seq: unknown;
              metrics: { name?: string; type?: string; value: unknown }[];
            };
          };
        }
      ).get("spBv1.0");
      const nbirth = tahu.decodePayload(birth.bytes);
      expect(Number(nbirth.seq)).toBe(0);
      expect(nbirth.metrics.map((m) => [m.name, m.type])).toEqual([
        ["bdSeq", "Int64"],
        ["Node Control/Rebirth", "Boolean"],
        ["Speed", "Float"],
      ]);
      // tck-id-payloads-name-requirement: without aliases, every metric carries its name (DATA too).
      // Tahu types DATA metrics from their own datatype only: by name, ours are read as their birth said.
      expect(tahu.decodePayload(data.bytes).metrics[0]).toMatchObject({ name: "Speed" });
    });
  },
);
