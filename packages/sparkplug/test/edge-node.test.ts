// Conformance of the edge node against a real Mosquitto over mutual TLS. Each test names the Sparkplug 3.0 TCK
// assertion ids it checks (tck-id-...).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IConnectPacket, IDisconnectPacket } from "mqtt-packet";
import { startEdgeNode } from "../src/edge-node.js";
import { encodePayload } from "../src/payload.js";
import { formatState } from "../src/state.js";
import { packetsOf, payloadOf, skipMosquitto, startLab, type Lab } from "./wire.js";

const GROUP = "Plant1";
const metrics = [
  { name: "Pump/Running", datatype: "Boolean" as const, value: false },
  { name: "Pump/Speed", datatype: "Float" as const, value: 0, deadband: 5 },
  { name: "Counter", datatype: "Int64" as const, value: 0n },
];
const devices = [{ id: "tank1", metrics: [{ name: "Level", datatype: "Double" as const, value: 10.5 }] }];

describe.skipIf(skipMosquitto)("edge node on Mosquitto over mutual TLS", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab();
  });
  afterAll(async () => {
    await lab?.[Symbol.asyncDispose]();
  });

  async function edge(
    node: string,
    options: Parameters<typeof startEdgeNode>[1] = {},
    protocolVersion: 4 | 5 = 4,
  ) {
    return startEdgeNode(await lab.config(node, { protocolVersion }), {
      group: GROUP,
      node,
      metrics,
      devices,
      ...options,
    });
  }

  it("publishes NBIRTH first, then DBIRTH, with everything a birth must hold", async () => {
    const obs = await lab.observer();
    const started = Date.now();
    await using node = await edge("birth-node");
    const nbirth = await obs.next((m) => m.parsed?.type === "NBIRTH");
    const dbirth = await obs.next((m) => m.parsed?.type === "DBIRTH");
    const fromNode = obs.seen.filter((m) => m.parsed && "node" in m.parsed && m.parsed.node === "birth-node");
    // tck-id-principles-birth-certificates-order, tck-id-message-flow-device-birth-publish-nbirth-wait,
    // tck-id-payloads-dbirth-order
    expect(fromNode.map((m) => m.parsed?.type).slice(0, 2)).toEqual(["NBIRTH", "DBIRTH"]);
    // tck-id-topics-nbirth-topic, tck-id-message-flow-edge-node-birth-publish-nbirth-topic, tck-id-topic-structure,
    // tck-id-topic-structure-namespace-a, tck-id-topic-structure-namespace-device-id-non-associated-message-types
    expect(nbirth.topic).toBe("spBv1.0/Plant1/NBIRTH/birth-node");
    // tck-id-topics-dbirth-topic, tck-id-message-flow-device-birth-publish-dbirth-topic,
    // tck-id-message-flow-device-birth-publish-dbirth-match-edge-node-topic,
    // tck-id-topic-structure-namespace-device-id-associated-message-types
    expect(dbirth.topic).toBe("spBv1.0/Plant1/DBIRTH/birth-node/tank1");
    // tck-id-conformance-mqtt-qos0 (Mosquitto delivers QoS 0), tck-id-topics-nbirth-mqtt, tck-id-payloads-nbirth-qos,
    // tck-id-payloads-nbirth-retain,
    // tck-id-message-flow-edge-node-birth-publish-nbirth-qos,
    // tck-id-message-flow-edge-node-birth-publish-nbirth-retained, tck-id-topics-dbirth-mqtt,
    // tck-id-payloads-dbirth-qos, tck-id-payloads-dbirth-retain, tck-id-message-flow-device-birth-publish-dbirth-qos,
    // tck-id-message-flow-device-birth-publish-dbirth-retained
    for (const m of [nbirth, dbirth]) expect([m.qos, m.retain]).toEqual([0, false]);
    // tck-id-message-flow-edge-node-birth-publish-nbirth-payload, tck-id-message-flow-device-birth-publish-dbirth-payload:
    // Sparkplug protobuf payloads
    const birth = payloadOf(nbirth);
    const device = payloadOf(dbirth);
    // tck-id-topics-nbirth-seq-num, tck-id-payloads-nbirth-seq, tck-id-payloads-sequence-num-req-nbirth,
    // tck-id-message-flow-edge-node-birth-publish-nbirth-payload-seq; tck-id-topics-dbirth-seq,
    // tck-id-payloads-dbirth-seq, tck-id-payloads-dbirth-seq-inc,
    // tck-id-message-flow-device-birth-publish-dbirth-payload-seq
    expect([birth.seq, device.seq]).toEqual([0, 1]);
    // tck-id-topics-nbirth-timestamp, tck-id-payloads-nbirth-timestamp, tck-id-topics-dbirth-timestamp,
    // tck-id-payloads-dbirth-timestamp, tck-id-payloads-timestamp-in-UTC (ms since the epoch: UTC by definition)
    for (const p of [birth, device]) expect(p.timestamp).toBeGreaterThanOrEqual(started - 1000);
    expect(birth.timestamp).toBeLessThanOrEqual(Date.now());
    const byName = new Map(birth.metrics.map((m) => [m.name, m]));
    // tck-id-topics-nbirth-bdseq-included, tck-id-payloads-nbirth-bdseq, tck-id-topics-nbirth-bdseq-increment (starts
    // at 0)
    expect(byName.get("bdSeq")).toMatchObject({ datatype: "Int64", value: 0n });
    // tck-id-topics-nbirth-rebirth-metric, tck-id-payloads-nbirth-rebirth-req,
    // tck-id-operational-behavior-data-commands-rebirth-name,
    // tck-id-operational-behavior-data-commands-rebirth-name-aliases,
    // tck-id-operational-behavior-data-commands-rebirth-datatype,
    // tck-id-operational-behavior-data-commands-rebirth-value
    const rebirth = byName.get("Node Control/Rebirth");
    expect(rebirth).toMatchObject({ datatype: "Boolean", value: false });
    expect(rebirth?.alias).toBeUndefined();
    // tck-id-topics-nbirth-metric-reqs, tck-id-operational-behavior-data-publish-nbirth: every metric, current value
    expect(birth.metrics.map((m) => m.name)).toEqual([
      "bdSeq",
      "Node Control/Rebirth",
      "Pump/Running",
      "Pump/Speed",
      "Counter",
    ]);
    // tck-id-topics-nbirth-metrics, tck-id-topics-dbirth-metrics, tck-id-payloads-alias-birth-requirement,
    // tck-id-payloads-metric-datatype-req, tck-id-payloads-name-birth-data-requirement,
    // tck-id-operational-behavior-data-publish-nbirth-values, tck-id-operational-behavior-data-publish-dbirth-values,
    // tck-id-topics-dbirth-metric-reqs, tck-id-operational-behavior-data-publish-dbirth
    for (const m of [...birth.metrics.slice(2), ...device.metrics]) {
      expect(m.name).toBeTypeOf("string");
      expect(m.alias).toBeTypeOf("number");
      expect(m.datatype).toBeDefined();
      expect(m.timestamp).toBe(birth.timestamp);
      expect(m.value).not.toBeUndefined();
    }
    expect(device.metrics).toMatchObject([{ name: "Level", datatype: "Double", value: 10.5 }]);
    // tck-id-payloads-alias-uniqueness: aliases unique across the edge node and its devices
    const aliases = [...birth.metrics, ...device.metrics].flatMap((m) =>
      m.alias === undefined ? [] : [m.alias],
    );
    expect(new Set(aliases).size).toBe(aliases.length);
    expect(node.stats.published).toMatchObject({ NBIRTH: 1, DBIRTH: 1 });
  });

  it("reports by exception: NDATA/DDATA by alias, with seq + 1 and a timestamp, only what changed beyond the deadband", async () => {
    const obs = await lab.observer();
    await using node = await edge("data-node");
    const nbirth = payloadOf(await obs.next((m) => m.parsed?.type === "NBIRTH"));
    await obs.next((m) => m.parsed?.type === "DBIRTH");
    const alias = new Map(nbirth.metrics.map((m) => [m.name, m.alias]));
    const types = new Map(nbirth.metrics.map((m) => [m.alias, m.datatype]));
    const datatypeOf = { datatypeOf: (m: { alias?: number }) => types.get(m.alias) };
    // tck-id-principles-rbe-recommended, tck-id-operational-behavior-data-publish-nbirth-change: no change, no
    // message
    expect(await node.update({ "Pump/Running": false, "Pump/Speed": 3 })).toBe(0); // 3 is within the deadband of 5
    expect(await node.update({ "Pump/Running": true, "Pump/Speed": 4 })).toBe(1);
    const ndata = await obs.next((m) => m.parsed?.type === "NDATA");
    // tck-id-topics-ndata-topic, tck-id-topics-ndata-mqtt, tck-id-payloads-ndata-qos, tck-id-payloads-ndata-retain
    expect([ndata.topic, ndata.qos, ndata.retain]).toEqual(["spBv1.0/Plant1/NDATA/data-node", 0, false]);
    const data = payloadOf(ndata, datatypeOf);
    // tck-id-topics-ndata-seq-num, tck-id-payloads-ndata-seq, tck-id-payloads-ndata-seq-inc,
    // tck-id-payloads-sequence-num-always-included, tck-id-payloads-sequence-num-incrementing (NBIRTH 0, DBIRTH 1)
    expect(data.seq).toBe(2);
    // tck-id-topics-ndata-timestamp, tck-id-payloads-ndata-timestamp
    expect(data.timestamp).toBeTypeOf("number");
    // tck-id-topics-ndata-payload (only what changed), tck-id-payloads-alias-data-cmd-requirement (alias, no name),
    // tck-id-payloads-metric-datatype-not-req (no datatype), tck-id-payloads-name-birth-data-requirement (timestamp)
    expect(data.metrics).toEqual([
      { alias: alias.get("Pump/Running"), timestamp: data.timestamp, value: true },
    ]);
    await node.update({ Level: 11 }, { device: "tank1" });
    const ddata = await obs.next((m) => m.parsed?.type === "DDATA");
    const dbirthTypes = { datatypeOf: () => "Double" as const };
    // tck-id-topics-ddata-topic, tck-id-topics-ddata-mqtt, tck-id-payloads-ddata-qos, tck-id-payloads-ddata-retain,
    // tck-id-topics-ddata-seq-num, tck-id-payloads-ddata-seq, tck-id-payloads-ddata-seq-inc,
    // tck-id-topics-ddata-timestamp, tck-id-payloads-ddata-timestamp, tck-id-topics-ddata-payload,
    // tck-id-operational-behavior-data-publish-dbirth-change
    expect([ddata.topic, ddata.qos, ddata.retain]).toEqual([
      "spBv1.0/Plant1/DDATA/data-node/tank1",
      0,
      false,
    ]);
    expect(payloadOf(ddata, dbirthTypes)).toMatchObject({ seq: 3, metrics: [{ value: 11 }] });
    // tck-id-payloads-ndata-order, tck-id-payloads-ddata-order: nothing of DATA came before the births;
    // tck-id-operational-behavior-data-publish-nbirth-order, tck-id-operational-behavior-data-publish-dbirth-order:
    // births and DATA in the order they happened, one timestamp per message
    const order = obs.seen
      .filter((m) => m.parsed && "node" in m.parsed && m.parsed.node === "data-node")
      .map((m) => m.parsed!.type);
    expect(order).toEqual(["NBIRTH", "DBIRTH", "NDATA", "DDATA"]);
    // An unknown metric is an error with a code, and nothing is published.
    await expect(node.update({ "No/Such": 1 })).rejects.toMatchObject({ code: "SPARKPLUG_METRIC_UNKNOWN" });
    await expect(node.update({ Counter: "many" })).rejects.toMatchObject({
      code: "SPARKPLUG_PAYLOAD_INVALID",
    });
  });

  it("counts seq modulo 256 (tck-id-payloads-ndata-seq-inc, tck-id-payloads-sequence-num-incrementing)", async () => {
    const obs = await lab.observer();
    await using node = await edge("wrap-node", { devices: [] });
    await obs.next((m) => m.parsed?.type === "NBIRTH");
    for (let i = 1; i <= 300; i++) await node.update({ Counter: BigInt(i) });
    await obs.next(
      (m) =>
        m.parsed?.type === "NDATA" && payloadOf(m, { datatypeOf: () => "Int64" }).metrics[0]?.value === 300n,
    );
    const seqs = obs.of("NDATA", "wrap-node").map((m) => payloadOf(m, { datatypeOf: () => "Int64" }).seq);
    expect(seqs.length).toBe(300);
    seqs.forEach((seq, i) => expect(seq).toBe((i + 1) % 256));
  });

  it("a device lost and back: DDEATH with the next seq, then DBIRTH (tck-id-operational-behavior-device-ddeath)", async () => {
    const obs = await lab.observer();
    await using node = await edge("ddeath-node");
    await obs.next((m) => m.parsed?.type === "DBIRTH");
    node.setDeviceOnline("tank1", false);
    const ddeath = await obs.next((m) => m.parsed?.type === "DDEATH");
    // tck-id-topics-ddeath-topic, tck-id-topics-ddeath-mqtt, tck-id-topics-ddeath-seq-num,
    // tck-id-payloads-ddeath-timestamp, tck-id-payloads-ddeath-seq, tck-id-payloads-ddeath-seq-inc,
    // tck-id-payloads-ddeath-seq-number
    expect([ddeath.topic, ddeath.qos, ddeath.retain]).toEqual([
      "spBv1.0/Plant1/DDEATH/ddeath-node/tank1",
      0,
      false,
    ]);
    expect(payloadOf(ddeath)).toMatchObject({ seq: 2, metrics: [] });
    expect(payloadOf(ddeath).timestamp).toBeTypeOf("number");
    expect(await node.update({ Level: 99 }, { device: "tank1" })).toBe(0); // a dead device publishes nothing
    node.setDeviceOnline("tank1", true);
    const back = payloadOf(
      await obs.next((m) => m.parsed?.type === "DBIRTH", 8000, obs.seen.indexOf(ddeath)),
    );
    expect(back).toMatchObject({ seq: 3, metrics: [{ name: "Level", value: 99 }] });
  });

  it("rebirths on NCMD Node Control/Rebirth: NBIRTH seq 0 with the same bdSeq, then DBIRTHs", async () => {
    const obs = await lab.observer();
    await using node = await edge("rebirth-node");
    const first = payloadOf(await obs.next((m) => m.parsed?.type === "NBIRTH"));
    await node.update({ "Pump/Running": true });
    await obs.next((m) => m.parsed?.type === "NDATA");
    // A refused update keeps nothing of it: the births that follow carry the last good values.
    await expect(node.update({ "Pump/Speed": 2, Counter: 1.5 })).rejects.toMatchObject({
      code: "SPARKPLUG_PAYLOAD_INVALID",
    });
    const mark = obs.seen.length;
    await obs.publish(
      "spBv1.0/Plant1/NCMD/rebirth-node",
      encodePayload({
        timestamp: Date.now(),
        metrics: [{ name: "Node Control/Rebirth", datatype: "Boolean", value: true }],
      }),
    );
    const again = payloadOf(await obs.next((m) => m.parsed?.type === "NBIRTH", 8000, mark));
    // tck-id-operational-behavior-data-commands-rebirth-action-1 (DATA stops),
    // tck-id-operational-behavior-data-commands-rebirth-action-2 (complete birth sequence),
    // tck-id-operational-behavior-data-commands-rebirth-action-3 (same bdSeq as the Will of this session)
    expect(again.seq).toBe(0);
    expect(again.metrics.find((m) => m.name === "bdSeq")?.value).toBe(
      first.metrics.find((m) => m.name === "bdSeq")?.value,
    );
    expect(again.metrics.find((m) => m.name === "Pump/Running")?.value).toBe(true);
    expect(again.metrics.find((m) => m.name === "Pump/Speed")?.value).toBe(0);
    await obs.next((m) => m.parsed?.type === "DBIRTH", 8000, mark);
    const fromNode = obs.seen.slice(mark).filter((m) => m.parsed?.type !== "NCMD");
    expect(fromNode.map((m) => m.parsed?.type)).toEqual(["NBIRTH", "DBIRTH"]);
    expect(node.stats.rebirths).toBe(1);
  });

  it("its Will is NDEATH at QoS 1 with the bdSeq of its birth; a new session takes the next bdSeq", async () => {
    const obs = await lab.observer();
    const dir = await mkdtemp(join(tmpdir(), "bdseq-"));
    try {
      const bdSeqFile = join(dir, "bdseq");
      const node = await edge("will-node", { bdSeqFile, backoff: { minMs: 50, maxMs: 200 } }, 5);
      const birth = payloadOf(await obs.next((m) => m.parsed?.type === "NBIRTH"));
      const packets = packetsOf(node.client);
      node.client.mqtt.stream.destroy(); // the edge node's connection dies: the broker publishes the Will
      const death = await obs.next((m) => m.parsed?.type === "NDEATH");
      // tck-id-message-flow-edge-node-birth-publish-will-message,
      // tck-id-message-flow-edge-node-birth-publish-will-message-topic,
      // tck-id-message-flow-edge-node-birth-publish-will-message-payload,
      // tck-id-message-flow-edge-node-birth-publish-will-message-qos,
      // tck-id-message-flow-edge-node-birth-publish-will-message-will-retained, tck-id-payloads-ndeath-will-message,
      // tck-id-payloads-ndeath-will-message-qos, tck-id-payloads-ndeath-will-message-retain,
      // tck-id-topics-ndeath-topic
      expect([death.topic, death.qos, death.retain]).toEqual(["spBv1.0/Plant1/NDEATH/will-node", 1, false]);
      const will = payloadOf(death);
      // tck-id-topics-ndeath-payload (only bdSeq), tck-id-topics-ndeath-seq, tck-id-payloads-ndeath-seq (no seq),
      // tck-id-payloads-ndeath-bdseq, tck-id-topics-nbirth-bdseq-matching, tck-id-payloads-nbirth-bdseq-repeat,
      // tck-id-message-flow-edge-node-birth-publish-nbirth-payload-bdSeq
      expect(will.seq).toBeUndefined();
      expect(will.metrics).toEqual([{ name: "bdSeq", datatype: "Int64", value: 0n }]);
      expect(birth.metrics.find((m) => m.name === "bdSeq")?.value).toBe(0n);
      const rebirth = payloadOf(
        await obs.next((m) => m.parsed?.type === "NBIRTH", 8000, obs.seen.indexOf(death)),
      );
      // tck-id-topics-nbirth-bdseq-increment, tck-id-message-flow-edge-node-birth-publish-will-message-payload-bdSeq
      expect(rebirth.metrics.find((m) => m.name === "bdSeq")?.value).toBe(1n);
      const connect = packets.find((p): p is IConnectPacket => p.cmd === "connect");
      // tck-id-principles-persistence-clean-session-50 (Clean Start, no Session Expiry = 0)
      expect(connect?.clean).toBe(true);
      expect(connect?.properties?.sessionExpiryInterval ?? 0).toBe(0);
      expect(connect?.will).toMatchObject({
        topic: "spBv1.0/Plant1/NDEATH/will-node",
        qos: 1,
        retain: false,
      });
      // tck-id-message-flow-edge-node-birth-publish-connect: the session came first, births after it
      expect(packets.findIndex((p) => p.cmd === "connect")).toBeLessThan(
        packets.findIndex((p) => p.cmd === "publish"),
      );
      await node.stop();
      // Kept across restarts: a new process goes on with 2.
      expect((await readFile(bdSeqFile, "utf8")).trim()).toBe("2");
      await using again = await edge("will-node", { bdSeqFile });
      const third = payloadOf(
        await obs.next((m) => m.parsed?.type === "NBIRTH" && payloadOf(m).metrics[0]?.value === 2n),
      );
      expect(third.metrics[0]?.value).toBe(2n);
      expect(again.stats.bdSeq).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("connects with a clean session under MQTT 3.1.1 (tck-id-principles-persistence-clean-session-311)", async () => {
    const obs = await lab.observer();
    await using node = await edge("clean-node", { backoff: { minMs: 50, maxMs: 200 } }, 4);
    await obs.next((m) => m.parsed?.type === "NBIRTH");
    const packets = packetsOf(node.client);
    node.client.mqtt.stream.destroy();
    await expect.poll(() => packets.some((p) => p.cmd === "connect"), { timeout: 8000 }).toBe(true);
    const connect = packets.find((p): p is IConnectPacket => p.cmd === "connect")!;
    expect([connect.protocolVersion, connect.clean]).toEqual([4, true]);
  });

  it("an intentional stop publishes NDEATH before DISCONNECT (MQTT 3.1.1 and MQTT 5 with reason 4)", async () => {
    for (const version of [4, 5] as const) {
      const obs = await lab.observer();
      const node = await edge(`stop-node-${version}`, {}, version);
      const birth = payloadOf(await obs.next((m) => m.parsed?.type === "NBIRTH"));
      const packets = packetsOf(node.client);
      await node.stop();
      // tck-id-operational-behavior-edge-node-intentional-disconnect-ndeath,
      // tck-id-payloads-ndeath-will-message-publisher,
      // tck-id-payloads-ndeath-will-message-publisher-disconnect-mqtt311,
      // tck-id-payloads-ndeath-will-message-publisher-disconnect-mqtt50,
      // tck-id-operational-behavior-edge-node-intentional-disconnect-packet
      const death = await obs.next((m) => m.parsed?.type === "NDEATH");
      expect(payloadOf(death).metrics[0]?.value).toBe(birth.metrics.find((m) => m.name === "bdSeq")?.value);
      const kinds = packets.map((p) => p.cmd);
      expect(kinds.indexOf("publish")).toBeLessThan(kinds.indexOf("disconnect"));
      const disconnect = packets.find((p): p is IDisconnectPacket => p.cmd === "disconnect");
      if (version === 5) expect(disconnect?.reasonCode).toBe(4);
      await expect(node.update({ "Pump/Running": true })).rejects.toMatchObject({ code: "NOT_RUNNING" });
    }
  });

  it("takes commands by alias or name and hands them over typed (NCMD and DCMD)", async () => {
    const obs = await lab.observer();
    await using node = await edge("cmd-node");
    const birth = payloadOf(await obs.next((m) => m.parsed?.type === "NBIRTH"));
    const speed = birth.metrics.find((m) => m.name === "Pump/Speed")!;
    const commands: unknown[] = [];
    const diagnoses: string[] = [];
    node.on("command", (c) => commands.push(c));
    node.on("diagnosis", (f) => diagnoses.push(f.code));
    // tck-id-message-flow-edge-node-ncmd-subscribe, tck-id-message-flow-device-dcmd-subscribe
    await obs.publish(
      "spBv1.0/Plant1/NCMD/cmd-node",
      encodePayload(
        { timestamp: Date.now(), metrics: [{ alias: speed.alias!, value: 1450 }] },
        { datatypeOf: () => "Float" },
      ),
    );
    await obs.publish(
      "spBv1.0/Plant1/DCMD/cmd-node/tank1",
      encodePayload({ timestamp: Date.now(), metrics: [{ name: "Level", datatype: "Double", value: 1 }] }),
    );
    await obs.publish(
      "spBv1.0/Plant1/NCMD/cmd-node",
      encodePayload({ timestamp: Date.now(), metrics: [{ name: "Nope", datatype: "Int32", value: 1 }] }),
    );
    await obs.publish("spBv1.0/Plant1/NCMD/cmd-node", Buffer.from("not protobuf at all"));
    await expect.poll(() => commands.length).toBe(2);
    await expect.poll(() => diagnoses).toEqual(["SPARKPLUG_METRIC_UNKNOWN", "SPARKPLUG_PAYLOAD_INVALID"]);
    expect(commands).toEqual([
      { metrics: [{ name: "Pump/Speed", datatype: "Float", value: 1450 }] },
      { device: "tank1", metrics: [{ name: "Level", datatype: "Double", value: 1 }] },
    ]);
  });

  it("waits for its primary host's STATE, leaves when it goes offline, and sends what it stored as historical", async () => {
    const obs = await lab.observer("fake-scada");
    const state = (online: boolean, timestamp: number) =>
      obs.publish("spBv1.0/STATE/scada", formatState({ online, timestamp }), { qos: 1, retain: true });
    await state(false, 1000);
    const node = await edge("phid-node", {
      primaryHost: "scada",
      backoff: { minMs: 50, maxMs: 200 },
    });
    try {
      await node.update({ "Pump/Running": true, "Pump/Speed": 50 });
      // tck-id-message-flow-edge-node-birth-publish-phid-wait,
      // tck-id-operational-behavior-edge-node-birth-sequence-wait,
      // tck-id-message-flow-edge-node-birth-publish-phid-wait-online: an offline host means no births
      await obs.quiet(300);
      expect(obs.of("NBIRTH", "phid-node")).toHaveLength(0);
      // tck-id-message-flow-edge-node-birth-publish-phid-wait-id: another host's STATE does not count
      await obs.publish("spBv1.0/STATE/other-host", formatState({ online: true, timestamp: 5000 }), {
        qos: 1,
        retain: true,
      });
      await obs.quiet(300);
      expect(obs.of("NBIRTH", "phid-node")).toHaveLength(0);
      await state(true, 2000);
      const birth = await obs.next((m) => m.parsed?.type === "NBIRTH");
      expect(payloadOf(birth).metrics.find((m) => m.name === "Pump/Running")?.value).toBe(true);
      // Stored while the host was offline: sent after the births, as historical (store and forward).
      const stored = await obs.next((m) => m.parsed?.type === "NDATA");
      const types = new Map(payloadOf(birth).metrics.map((m) => [m.alias, m.datatype]));
      expect(
        payloadOf(stored, { datatypeOf: (m) => types.get(m.alias) }).metrics.every((m) => m.isHistorical),
      ).toBe(true);
      // tck-id-message-flow-edge-node-birth-publish-phid-wait-timestamp,
      // tck-id-operational-behavior-edge-node-termination-host-offline-timestamp: an offline STATE older than the
      // last online one does not make a publishing node leave
      await state(false, 1500);
      await obs.quiet(300);
      expect(node.born).toBe(true);
      // tck-id-operational-behavior-edge-node-termination-host-offline,
      // tck-id-message-flow-edge-node-birth-publish-phid-offline: the host goes offline: NDEATH, leave the broker,
      // and wait again after reconnecting
      const mark = obs.seen.length;
      await state(false, 3000);
      const death = await obs.next((m) => m.parsed?.type === "NDEATH", 8000, mark);
      expect(payloadOf(death).metrics[0]?.value).toBe(0n);
      await expect.poll(() => node.client.state, { timeout: 8000 }).toBe("connected");
      await obs.quiet(300);
      expect(obs.of("NBIRTH", "phid-node")).toHaveLength(1);
      // tck-id-operational-behavior-edge-node-termination-host-offline-reconnect: back when the host is
      await state(true, 4000);
      const again = payloadOf(await obs.next((m) => m.parsed?.type === "NBIRTH", 8000, mark));
      expect(again.metrics.find((m) => m.name === "bdSeq")?.value).toBe(1n);
    } finally {
      await node.stop();
      await obs.publish("spBv1.0/STATE/scada", "", { qos: 1, retain: true });
      await obs.publish("spBv1.0/STATE/other-host", "", { qos: 1, retain: true });
    }
  });

  it("refuses bad ids and a configuration that is not mutual TLS before publishing anything", async () => {
    const obs = await lab.observer();
    const config = await lab.config("ids-node");
    // tck-id-intro-group-id-chars, tck-id-intro-edge-node-id-chars, tck-id-intro-device-id-chars,
    // tck-id-topic-structure-namespace-valid-group-id, tck-id-topic-structure-namespace-valid-edge-node-id,
    // tck-id-topic-structure-namespace-valid-device-id
    await expect(startEdgeNode(config, { group: "Plant/1", node: "n" })).rejects.toMatchObject({
      code: "SPARKPLUG_ID_INVALID",
    });
    await expect(startEdgeNode(config, { group: "P", node: "line+1" })).rejects.toMatchObject({
      code: "SPARKPLUG_ID_INVALID",
    });
    await expect(
      startEdgeNode(config, { group: "P", node: "n", devices: [{ id: "tank#1", metrics: [] }] }),
    ).rejects.toMatchObject({ code: "SPARKPLUG_ID_INVALID" });
    // tck-id-topic-structure-namespace-unique-device-id, tck-id-case-sensitivity-sparkplug-ids
    await expect(
      startEdgeNode(config, {
        group: "P",
        node: "n",
        devices: [
          { id: "Tank", metrics: [] },
          { id: "tank", metrics: [] },
        ],
      }),
    ).rejects.toMatchObject({ code: "SPARKPLUG_ID_INVALID" });
    // tck-id-case-sensitivity-metric-names
    await expect(
      startEdgeNode(config, {
        group: "P",
        node: "n",
        metrics: [
          { name: "Level", datatype: "Float", value: 0 },
          { name: "level", datatype: "Float", value: 0 },
        ],
      }),
    ).rejects.toMatchObject({ code: "SPARKPLUG_PAYLOAD_INVALID" });
    // A birth value that does not fit its datatype: refused before connecting.
    await expect(
      startEdgeNode(config, {
        group: "P",
        node: "n",
        metrics: [{ name: "Level", datatype: "Int8", value: 1000 }],
      }),
    ).rejects.toMatchObject({
      code: "SPARKPLUG_PAYLOAD_INVALID",
      message: expect.stringContaining('"Level"'),
    });
    const plain = {
      ...config,
      security: { ...(config as { security: object }).security, sendClientCertificate: false },
    };
    await expect(startEdgeNode(plain, { group: "P", node: "n" })).rejects.toMatchObject({
      code: "SPARKPLUG_NOT_MUTUAL_TLS",
      message: expect.stringContaining("sendClientCertificate"),
    });
    await obs.quiet(200);
    expect(obs.seen).toHaveLength(0);
  });
});
