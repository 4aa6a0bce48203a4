import { createFinding, type Finding } from "@proj/findings";
import { connectSecure, type ClientState, type SecureClient, type SecureClientOptions } from "@proj/mqtt-tls";
import { EventEmitter } from "node:events";
import { loadMutualTls } from "./connect.js";
import { REBIRTH_METRIC } from "./edge-node.js";
import { SparkplugError, isSparkplugError } from "./errors.js";
import { MetricTable, type DeviceState, type NodeState } from "./host-model.js";
import {
  decodePayload,
  encodePayload,
  readSeq,
  type Metric,
  type MetricValue,
  type Payload,
} from "./payload.js";
import { formatState, parseState } from "./state.js";
import { assertSparkplugId, formatTopic, parseTopic, type MessageType } from "./topics.js";

/** What happened to a node or device, in the order the host saw it. */
export type HostEvent =
  | {
      readonly type: "NBIRTH";
      readonly group: string;
      readonly node: string;
      readonly bdSeq: number | undefined;
      readonly time: number;
    }
  | {
      readonly type: "NDEATH";
      readonly group: string;
      readonly node: string;
      readonly bdSeq: number;
      readonly time: number;
    }
  | {
      readonly type: "DBIRTH" | "DDEATH";
      readonly group: string;
      readonly node: string;
      readonly device: string;
      readonly time: number;
    }
  | {
      readonly type: "SEQ_GAP";
      readonly group: string;
      readonly node: string;
      readonly expected: number;
      readonly received: number;
      readonly time: number;
    }
  | {
      readonly type: "REBIRTH_REQUESTED";
      readonly group: string;
      readonly node: string;
      readonly reason: string;
      readonly time: number;
    };

/** New values of a node's or device's metrics (real-time, or historical ones from store and forward). */
export interface HostData {
  readonly group: string;
  readonly node: string;
  readonly device?: string;
  readonly metrics: readonly {
    readonly name: string;
    readonly value: MetricValue;
    readonly timestamp?: number;
    readonly historical: boolean;
  }[];
}

/** Options of {@link startPrimaryHost}; the TLS transport's options apply too. */
export interface PrimaryHostOptions extends Omit<SecureClientOptions, "will" | "clean"> {
  /** @default the configuration's `sparkplug.hostId` */
  hostId?: string;
  /** How long an out-of-order message waits for the missing ones before a rebirth is requested. @default 2000 */
  reorderTimeoutMs?: number;
  /** At most one rebirth request per node within this time (until its next NBIRTH). @default 5000 */
  rebirthIntervalMs?: number;
  /**
   * Put each metric's datatype in NCMD/DCMD writes. The specification says it SHOULD NOT be there (the birth gave
   * it), but edge nodes built on Eclipse Tahu's JavaScript codec read a command's value only from the metric's own
   * datatype: turn this on for them. @default false
   */
  commandDatatypes?: boolean;
  /** The clock (ms since the epoch, UTC). @default Date.now */
  clock?: () => number;
}

interface Pending {
  readonly type: MessageType;
  readonly device: string | undefined;
  readonly bytes: Buffer;
}

interface Sequencer {
  readonly pending: Map<number, Pending>;
  timer: NodeJS.Timeout | undefined;
  lastRebirthAt: number;
}

const key = (group: string, node: string) => `${group}/${node}`;
/** Messages a node's reorder buffer holds at most: beyond, the gap is taken as final at once. */
const MAX_PENDING = 64;

/**
 * A Sparkplug B primary host application over mutual TLS, from {@link startPrimaryHost}: STATE birth and Will,
 * a model of every node, device and metric learned from births, `seq` checked with a reorder timeout (a gap asks
 * for a rebirth), NDEATH honoured only with the birth's bdSeq, stale marking, and writes by name.
 *
 * @example
 * ```ts
 * await using host = await startPrimaryHost("config/scada.json", { hostId: "scada" });
 * host.on("event", (event) => console.log(event.type, event.node));
 * host.on("data", ({ node, metrics }) => console.log(node, metrics));
 * await host.write({ group: "Plant1", node: "line1-plc" }, { "Pump/Start": true });
 * ```
 */
export class PrimaryHost extends EventEmitter<{
  event: [event: HostEvent];
  data: [data: HostData];
  /** Something the host refused or could not read (a bad payload, an unknown metric, a failed connection). */
  diagnosis: [finding: Finding];
  state: [state: ClientState];
}> {
  readonly hostId: string;
  readonly client: SecureClient;
  /** Every node seen, by `group/node`. */
  readonly nodes = new Map<string, NodeState>();
  /** Every event so far, oldest first (bounded: the last 10,000). */
  readonly events: HostEvent[] = [];
  readonly #sequencers = new Map<string, Sequencer>();
  readonly #reorderTimeoutMs: number;
  readonly #rebirthIntervalMs: number;
  readonly #now: () => number;
  readonly #connectTimestamp: () => number;
  readonly #commandDatatypes: boolean;
  #stopped = false;

  /** @internal use {@link startPrimaryHost} */
  constructor(
    client: SecureClient,
    parts: {
      hostId: string;
      reorderTimeoutMs: number;
      rebirthIntervalMs: number;
      commandDatatypes: boolean;
      now: () => number;
      connectTimestamp: () => number;
    },
  ) {
    super();
    this.client = client;
    this.hostId = parts.hostId;
    this.#reorderTimeoutMs = parts.reorderTimeoutMs;
    this.#rebirthIntervalMs = parts.rebirthIntervalMs;
    this.#now = parts.now;
    this.#connectTimestamp = parts.connectTimestamp;
    this.#commandDatatypes = parts.commandDatatypes;
    // A STATE of a session that ended is never sent again in the next one: its timestamp would be that session's
    // (tck-id-host-topic-phid-birth-message: the first message of a session is its own STATE birth).
    const stateInFlight = new Set<number>();
    client.mqtt.on("packetsend", (packet) => {
      if (packet.cmd === "publish" && packet.topic === this.#stateTopic && packet.messageId !== undefined)
        stateInFlight.add(packet.messageId);
    });
    client.mqtt.on("packetreceive", (packet) => {
      if (packet.cmd === "puback" && packet.messageId !== undefined) stateInFlight.delete(packet.messageId);
    });
    client.on("state", (state) => {
      this.emit("state", state);
      if (state === "connected") void this.#sessionStarted();
      else {
        for (const id of stateInFlight) client.mqtt.removeOutgoingMessage(id);
        stateInFlight.clear();
        // What happened while this host was away is unknown (NDEATHs included): values stale, sequences restart.
        this.#forgetSequences();
        for (const n of this.nodes.values()) {
          n.metrics.markStale();
          for (const d of n.devices.values()) d.metrics.markStale();
        }
      }
    });
    client.on("diagnosis", (finding) => this.emit("diagnosis", finding));
    client.on("message", (topic, payload) => this.#onMessage(topic, payload));
    if (client.state === "connected") void this.#sessionStarted();
  }

  /** Reorder buffers and timers emptied, every node's seq unknown (after a disconnect, and at stop). */
  #forgetSequences(): void {
    for (const sequencer of this.#sequencers.values()) {
      clearTimeout(sequencer.timer);
      sequencer.timer = undefined;
      sequencer.pending.clear();
    }
    for (const n of this.nodes.values()) n.lastSeq = undefined;
  }

  get #stateTopic(): string {
    return formatTopic({ type: "STATE", host: this.hostId });
  }

  /**
   * Subscribes to its own STATE and the namespace, then publishes its STATE birth with the timestamp of this
   * session's Will (tck-id-host-topic-phid-birth-sub-required, -birth-required, -birth-payload-timestamp).
   */
  async #sessionStarted(): Promise<void> {
    try {
      await this.client.subscribe([this.#stateTopic, "spBv1.0/#"], { qos: 1 });
      await this.#publishState(true, this.#connectTimestamp());
      // After a reconnect: every node seen before is asked for its births, so the model is current again.
      for (const n of this.nodes.values())
        if (n.online) this.#requestRebirth(n.group, n.node, "the host reconnected");
    } catch {
      // The connection went again: the next session does this again.
    }
  }

  #publishState(online: boolean, timestamp: number): Promise<void> {
    return this.client.publish(this.#stateTopic, formatState({ online, timestamp }), {
      qos: 1,
      retain: true,
    });
  }

  #record(event: HostEvent): void {
    this.events.push(event);
    if (this.events.length > 10_000) this.events.shift();
    this.emit("event", event);
  }

  #nodeState(group: string, node: string): NodeState {
    let state = this.nodes.get(key(group, node));
    if (!state) {
      state = {
        group,
        node,
        online: false,
        bdSeq: undefined,
        lastSeq: undefined,
        metrics: new MetricTable(),
        devices: new Map(),
        birthAt: undefined,
        deathAt: undefined,
      };
      this.nodes.set(key(group, node), state);
    }
    return state;
  }

  #sequencer(group: string, node: string): Sequencer {
    let s = this.#sequencers.get(key(group, node));
    if (!s) {
      s = { pending: new Map(), timer: undefined, lastRebirthAt: -Infinity };
      this.#sequencers.set(key(group, node), s);
    }
    return s;
  }

  #invalid(where: string, error: unknown): void {
    if (isSparkplugError(error) && error.findings.length > 0)
      for (const finding of error.findings)
        this.emit("diagnosis", { ...finding, message: `${where}: ${finding.message}` });
    else
      this.emit(
        "diagnosis",
        createFinding("SPARKPLUG_PAYLOAD_INVALID", "error", `${where}: ${(error as Error).message}`),
      );
  }

  #onMessage(topic: string, bytes: Buffer): void {
    if (this.#stopped) return;
    const parsed = parseTopic(topic);
    if (!parsed) {
      if (topic.startsWith("spBv1.0/"))
        this.emit(
          "diagnosis",
          createFinding(
            "SPARKPLUG_TOPIC_INVALID",
            "warning",
            `A message arrived on "${topic}", which is not a Sparkplug B topic.`,
          ),
        );
      return;
    }
    if (parsed.type === "STATE") {
      // tck-id-message-flow-hid-sparkplug-state-message-delivered: someone said this host is offline; it is not.
      const state = parseState(bytes);
      if (parsed.host === this.hostId && state && !state.online && !this.#stopped)
        void this.#publishState(true, this.#connectTimestamp()).catch(() => undefined);
      return;
    }
    const { group, node, type } = parsed;
    const device = parsed.device;
    switch (type) {
      case "NBIRTH":
        this.#onNodeBirth(group, node, bytes);
        return;
      case "NDEATH":
        this.#onNodeDeath(group, node, bytes);
        return;
      case "NCMD":
      case "DCMD":
        return; // commands are this host's (or another host's) own writes
      default:
        this.#sequenced(group, node, { type, device, bytes });
    }
  }

  #onNodeBirth(group: string, node: string, bytes: Buffer): void {
    const where = `NBIRTH of ${group}/${node}`;
    let payload: Payload;
    try {
      payload = decodePayload(bytes);
    } catch (error) {
      this.#invalid(where, error);
      this.#requestRebirth(group, node, "its NBIRTH could not be read");
      return;
    }
    const state = this.#nodeState(group, node);
    const sequencer = this.#sequencer(group, node);
    clearTimeout(sequencer.timer);
    sequencer.timer = undefined;
    sequencer.pending.clear();
    const bdSeq = payload.metrics.find((m) => m.name === "bdSeq")?.value;
    const problem =
      // tck-id-payloads-nbirth-bdseq, tck-id-payloads-nbirth-seq
      typeof bdSeq !== "bigint"
        ? "has no bdSeq metric of datatype Int64"
        : payload.seq === undefined
          ? "has no seq"
          : state.metrics.learn(payload.metrics.filter((m) => m.name !== "bdSeq"));
    if (problem) {
      this.emit("diagnosis", createFinding("SPARKPLUG_PAYLOAD_INVALID", "error", `The ${where} ${problem}.`));
      state.online = false;
      for (const d of state.devices.values()) d.online = false;
      return;
    }
    const time = this.#now();
    state.online = true;
    state.bdSeq = bdSeq as bigint;
    state.lastSeq = payload.seq;
    state.birthAt = time;
    // Devices of an earlier session wait for their DBIRTH.
    for (const d of state.devices.values()) {
      d.online = false;
      d.metrics.markStale();
    }
    this.#record({ type: "NBIRTH", group, node, bdSeq: Number(bdSeq), time });
  }

  #onNodeDeath(group: string, node: string, bytes: Buffer): void {
    const state = this.nodes.get(key(group, node));
    let bdSeq: MetricValue | undefined;
    try {
      bdSeq = decodePayload(bytes).metrics.find((m) => m.name === "bdSeq")?.value;
    } catch (error) {
      this.#invalid(`NDEATH of ${group}/${node}`, error);
      return;
    }
    // A stale NDEATH (a Will of an older session, delivered late) ends nothing.
    if (!state?.online || typeof bdSeq !== "bigint" || bdSeq !== state.bdSeq) return;
    const time = this.#now();
    // tck-id-operational-behavior-edge-node-termination-host-action-ndeath-node-offline, -node-tags-stale,
    // -devices-offline, -devices-tags-stale
    state.online = false;
    state.deathAt = time;
    state.metrics.markStale();
    for (const d of state.devices.values()) {
      d.online = false;
      d.metrics.markStale();
    }
    const sequencer = this.#sequencer(group, node);
    clearTimeout(sequencer.timer);
    sequencer.timer = undefined;
    sequencer.pending.clear();
    this.#record({ type: "NDEATH", group, node, bdSeq: Number(bdSeq), time });
  }

  /** Messages that carry a seq: handled in order, a gap waits for the reorder timeout, then asks for a rebirth. */
  #sequenced(group: string, node: string, message: Pending): void {
    const state = this.nodes.get(key(group, node));
    if (!state?.online || state.lastSeq === undefined) {
      this.#requestRebirth(group, node, `a ${message.type} arrived without an NBIRTH`);
      return;
    }
    const seq = readSeq(message.bytes);
    if (seq === undefined) {
      this.emit(
        "diagnosis",
        createFinding(
          "SPARKPLUG_PAYLOAD_INVALID",
          "error",
          `A ${message.type} of ${group}/${node} has no seq.`,
        ),
      );
      return;
    }
    const sequencer = this.#sequencer(group, node);
    const expected = (state.lastSeq + 1) % 256;
    // How far ahead of the next expected seq (mod 256): half the ring or more is behind it, a repeat or a late one.
    const ahead = (seq - expected + 256) % 256;
    if (ahead >= 128) {
      this.emit(
        "diagnosis",
        createFinding(
          "SPARKPLUG_SEQ_GAP",
          "warning",
          `A ${message.type} of ${group}/${node} with seq ${seq} came after seq ${state.lastSeq}: a repeat or a late message, ignored.`,
        ),
      );
      return;
    }
    if (ahead > 0) {
      // tck-id-operational-behavior-host-reordering-start: wait for what is missing, within bounds.
      if (sequencer.pending.has(seq) || sequencer.pending.size >= MAX_PENDING) this.#gap(group, node);
      else {
        sequencer.pending.set(seq, message);
        sequencer.timer ??= setTimeout(() => this.#gap(group, node), this.#reorderTimeoutMs);
      }
      return;
    }
    this.#handle(state, seq, message);
    // The gap closed: what waited is handled in order (tck-id-operational-behavior-host-reordering-success).
    let next = sequencer.pending.get((seq + 1) % 256);
    while (next && state.online && state.lastSeq !== undefined) {
      const s = (state.lastSeq + 1) % 256;
      sequencer.pending.delete(s);
      this.#handle(state, s, next);
      next = sequencer.pending.get((s + 1) % 256);
    }
    clearTimeout(sequencer.timer);
    // What still waits is beyond another gap: it gets a reorder timeout of its own.
    sequencer.timer =
      sequencer.pending.size > 0
        ? setTimeout(() => this.#gap(group, node), this.#reorderTimeoutMs)
        : undefined;
  }

  /**
   * A gap that did not close (the reorder timeout, or more waiting than the buffer holds): SEQ_GAP, the node's values
   * stale until its next birth, and a rebirth request (tck-id-operational-behavior-host-reordering-rebirth).
   */
  #gap(group: string, node: string): void {
    const sequencer = this.#sequencer(group, node);
    clearTimeout(sequencer.timer);
    sequencer.timer = undefined;
    const state = this.nodes.get(key(group, node));
    if (this.#stopped || state?.lastSeq === undefined) {
      sequencer.pending.clear();
      return;
    }
    const expected = (state.lastSeq + 1) % 256;
    const waiting = [...sequencer.pending.keys()].sort(
      (a, b) => ((a - expected + 256) % 256) - ((b - expected + 256) % 256),
    );
    const received = waiting[0] ?? expected;
    sequencer.pending.clear();
    state.lastSeq = undefined;
    state.metrics.markStale();
    for (const d of state.devices.values()) d.metrics.markStale();
    const time = this.#now();
    this.#record({ type: "SEQ_GAP", group, node, expected, received, time });
    this.emit(
      "diagnosis",
      createFinding(
        "SPARKPLUG_SEQ_GAP",
        "warning",
        `${group}/${node} skipped from seq ${(expected + 255) % 256} to ${received}; its values are stale until the rebirth requested.`,
      ),
    );
    this.#requestRebirth(group, node, `seq ${expected} did not arrive within ${this.#reorderTimeoutMs} ms`);
  }

  #handle(state: NodeState, seq: number, message: Pending): void {
    state.lastSeq = seq;
    const { group, node } = state;
    const time = this.#now();
    if (message.type === "DBIRTH") {
      const device = this.#deviceState(state, message.device!);
      let payload: Payload;
      try {
        payload = decodePayload(message.bytes);
      } catch (error) {
        this.#invalid(`DBIRTH of ${group}/${node}/${message.device}`, error);
        this.#requestRebirth(group, node, "a DBIRTH could not be read");
        return;
      }
      const problem = device.metrics.learn(payload.metrics);
      if (problem) {
        this.emit(
          "diagnosis",
          createFinding(
            "SPARKPLUG_PAYLOAD_INVALID",
            "error",
            `The DBIRTH of ${group}/${node}/${device.device} ${problem}.`,
          ),
        );
        return;
      }
      device.online = true;
      device.birthAt = time;
      this.#record({ type: "DBIRTH", group, node, device: device.device, time });
      return;
    }
    if (message.type === "DDEATH") {
      const device = state.devices.get(message.device!);
      if (!device?.online) return;
      // tck-id-operational-behavior-edge-node-termination-host-action-ddeath-devices-offline, -tags-stale
      device.online = false;
      device.deathAt = time;
      device.metrics.markStale();
      this.#record({ type: "DDEATH", group, node, device: device.device, time });
      return;
    }
    // NDATA / DDATA
    const device = message.device === undefined ? undefined : state.devices.get(message.device);
    if (message.device !== undefined && !device?.online) {
      this.#requestRebirth(group, node, `DDATA of ${message.device} arrived without its DBIRTH`);
      return;
    }
    const table = device?.metrics ?? state.metrics;
    let payload: Payload;
    try {
      payload = decodePayload(message.bytes, { datatypeOf: table.datatypeOf });
    } catch (error) {
      this.#invalid(
        `${message.type} of ${group}/${node}${message.device ? `/${message.device}` : ""}`,
        error,
      );
      if (isSparkplugError(error) && /no datatype/.test(error.message))
        this.#requestRebirth(group, node, "DATA named a metric its birth does not have");
      return;
    }
    const changed: { name: string; value: MetricValue; timestamp?: number; historical: boolean }[] = [];
    for (const metric of payload.metrics) {
      const known = table.resolve(metric);
      if (!known) {
        this.emit(
          "diagnosis",
          createFinding(
            "SPARKPLUG_METRIC_UNKNOWN",
            "error",
            `${message.type} of ${group}/${node}${message.device ? `/${message.device}` : ""} names ${metric.name ? `"${metric.name}"` : `alias ${metric.alias}`}, which its birth does not have.`,
          ),
        );
        this.#requestRebirth(group, node, "DATA named a metric its birth does not have");
        continue;
      }
      if (metric.datatype !== undefined && metric.datatype !== known.datatype) {
        this.emit(
          "diagnosis",
          createFinding(
            "SPARKPLUG_PAYLOAD_INVALID",
            "error",
            `${message.type} of ${group}/${node}${message.device ? `/${message.device}` : ""} sends "${known.name}" as a ${metric.datatype}; its birth made it a ${known.datatype}: ignored.`,
          ),
        );
        continue;
      }
      const value = metric.value === undefined ? null : metric.value;
      if (!metric.isHistorical) {
        known.value = value;
        known.timestamp = metric.timestamp;
        known.stale = false;
      }
      changed.push({
        name: known.name,
        value,
        ...(metric.timestamp !== undefined ? { timestamp: metric.timestamp } : {}),
        historical: metric.isHistorical === true,
      });
    }
    if (changed.length > 0)
      this.emit("data", {
        group,
        node,
        ...(message.device !== undefined ? { device: message.device } : {}),
        metrics: changed,
      });
  }

  #deviceState(state: NodeState, device: string): DeviceState {
    let d = state.devices.get(device);
    if (!d) {
      d = { device, online: false, metrics: new MetricTable(), birthAt: undefined, deathAt: undefined };
      state.devices.set(device, d);
    }
    return d;
  }

  #requestRebirth(group: string, node: string, reason: string): void {
    const sequencer = this.#sequencer(group, node);
    const time = this.#now();
    if (
      this.#stopped ||
      this.client.state !== "connected" ||
      time - sequencer.lastRebirthAt < this.#rebirthIntervalMs
    )
      return;
    sequencer.lastRebirthAt = time;
    void this.requestRebirth(group, node)
      .then(() => this.#record({ type: "REBIRTH_REQUESTED", group, node, reason, time }))
      .catch(() => undefined);
  }

  /**
   * Asks an edge node for its births again (NCMD `Node Control/Rebirth` = true).
   *
   * @example
   * ```ts
   * await host.requestRebirth("Plant1", "line1-plc");
   * ```
   * @throws {SparkplugError} `SPARKPLUG_ID_INVALID`
   */
  async requestRebirth(group: string, node: string): Promise<void> {
    // tck-id-operational-behavior-data-commands-ncmd-rebirth-verb, -rebirth-name, -rebirth-value
    await this.#command(group, node, undefined, [{ name: REBIRTH_METRIC, datatype: "Boolean", value: true }]);
  }

  async #command(
    group: string,
    node: string,
    device: string | undefined,
    metrics: Metric[],
    table?: MetricTable,
  ): Promise<void> {
    const topic = formatTopic(
      device === undefined ? { type: "NCMD", group, node } : { type: "DCMD", group, node, device },
    );
    // tck-id-payloads-ncmd-timestamp, -ncmd-seq (none), -ncmd-qos / -retain (0, false)
    const bytes = encodePayload(
      { timestamp: this.#now(), metrics },
      table ? { datatypeOf: table.datatypeOf } : {},
    );
    await this.client.publish(topic, Buffer.from(bytes), {
      qos: 0,
      retain: false,
    });
  }

  /**
   * Writes metrics of a node (NCMD) or device (DCMD), by name: sent by alias where the birth gave one, typed as
   * the birth says.
   *
   * @example
   * ```ts
   * await host.write({ group: "Plant1", node: "line1-plc", device: "tank1" }, { Setpoint: 80 });
   * ```
   * @throws {SparkplugError} `NOT_RUNNING` for a node or device that is offline, `SPARKPLUG_METRIC_UNKNOWN` for a
   * name its birth does not have, `SPARKPLUG_PAYLOAD_INVALID` for a value that does not fit the datatype.
   */
  async write(
    target: { readonly group: string; readonly node: string; readonly device?: string },
    values: Readonly<Record<string, MetricValue>>,
  ): Promise<void> {
    const state = this.nodes.get(key(target.group, target.node));
    const device = target.device === undefined ? undefined : state?.devices.get(target.device);
    const label = `${target.group}/${target.node}${target.device !== undefined ? `/${target.device}` : ""}`;
    if (!state?.online || (target.device !== undefined && !device?.online))
      throw new SparkplugError("NOT_RUNNING", `${label} is offline: nothing is written.`);
    const table = device?.metrics ?? state.metrics;
    const timestamp = this.#now();
    const metrics = Object.entries(values).map(([name, value]): Metric => {
      const known = table.byName.get(name);
      if (!known) {
        const message = `${label} has no metric "${name}" in its birth.`;
        throw new SparkplugError("SPARKPLUG_METRIC_UNKNOWN", message, {
          findings: [createFinding("SPARKPLUG_METRIC_UNKNOWN", "error", message)],
        });
      }
      // tck-id-payloads-alias-data-cmd-requirement: with an alias, the name is left out.
      const id = known.alias !== undefined ? { alias: known.alias } : { name };
      return { ...id, timestamp, value, ...(this.#commandDatatypes ? { datatype: known.datatype } : {}) };
    });
    await this.#command(target.group, target.node, target.device, metrics, table);
  }

  /**
   * Ends the host: STATE offline (retained, QoS 1, the current time) before DISCONNECT.
   *
   * @example
   * ```ts
   * await host.stop();
   * ```
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#forgetSequences();
    // tck-id-host-topic-phid-death-payload-timestamp-disconnect-clean
    if (this.client.state === "connected")
      await this.#publishState(false, this.#now()).catch(() => undefined);
    await this.client.end();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Connects a Sparkplug B primary host application over mutual TLS: STATE Will and birth (3.0 JSON, retained,
 * QoS 1), clean session, subscribed to `spBv1.0/#`.
 *
 * @example
 * ```ts
 * const host = await startPrimaryHost("config/scada.json", { hostId: "scada", reorderTimeoutMs: 1000 });
 * ```
 * @throws {SparkplugError} `SPARKPLUG_NOT_MUTUAL_TLS`, `SPARKPLUG_ID_INVALID`; {@link MqttTlsError} with the
 * diagnosis when the first connection fails.
 */
export async function startPrimaryHost(
  config: unknown,
  options: PrimaryHostOptions = {},
): Promise<PrimaryHost> {
  const loaded = await loadMutualTls(config, options);
  const hostId = options.hostId ?? loaded.resolved?.config.sparkplug?.hostId;
  if (hostId === undefined)
    throw new SparkplugError("SPARKPLUG_ID_INVALID", "A host application needs a host id.", {
      remedy: 'Give it as an option, or in the configuration: "sparkplug": { "hostId": "..." }.',
    });
  assertSparkplugId("host id", hostId);
  const now = options.clock ?? Date.now;
  let connectTimestamp = now();
  const {
    hostId: _h,
    reorderTimeoutMs,
    rebirthIntervalMs,
    commandDatatypes,
    clock: _c,
    ...transport
  } = options;
  const client = await connectSecure(loaded, {
    ...transport,
    clean: true, // tck-id-message-flow-phid-sparkplug-clean-session-311 / -50
    // tck-id-host-topic-phid-death-payload-timestamp-connect: the Will carries the time of its CONNECT, and the
    // STATE birth of that session the same (tck-id-host-topic-phid-birth-payload-timestamp).
    will: () => {
      connectTimestamp = now();
      return {
        topic: formatTopic({ type: "STATE", host: hostId }),
        payload: formatState({ online: false, timestamp: connectTimestamp }),
        qos: 1,
        retain: true,
      };
    },
  });
  return new PrimaryHost(client, {
    hostId,
    reorderTimeoutMs: reorderTimeoutMs ?? 2000,
    rebirthIntervalMs: rebirthIntervalMs ?? 5000,
    commandDatatypes: commandDatatypes ?? false,
    now,
    connectTimestamp: () => connectTimestamp,
  });
}
