import { createFinding, type Finding } from "@proj/findings";
import { connectSecure, type ClientState, type SecureClient, type SecureClientOptions } from "@proj/mqtt-tls";
import type { LoadedConfig } from "@proj/security-config";
import { EventEmitter } from "node:events";
import { BdSeqCounter } from "./bdseq.js";
import { loadMutualTls } from "./connect.js";
import type { DataTypeName } from "./data-types.js";
import { SparkplugError, isSparkplugError } from "./errors.js";
import { MetricSet, type MetricDefinition } from "./metric-set.js";
import { decodePayload, encodePayload, type Metric, type MetricValue, type Payload } from "./payload.js";
import { parseState, type HostState } from "./state.js";
import { assertSparkplugId, formatTopic, parseTopic, type MessageType } from "./topics.js";

/** The metric an NBIRTH carries for the host to ask for a rebirth. */
export const REBIRTH_METRIC = "Node Control/Rebirth";

/** A device of an edge node: its id and metrics. */
export interface DeviceDefinition {
  readonly id: string;
  readonly metrics: readonly MetricDefinition[];
}

/** Options of {@link startEdgeNode}; the TLS transport's options apply too. */
export interface EdgeNodeOptions extends Omit<SecureClientOptions, "will" | "clean"> {
  /** @default the configuration's `sparkplug.groupId` */
  group?: string;
  /** @default the configuration's `sparkplug.edgeNodeId` */
  node?: string;
  /** The node's own metrics (bdSeq and Node Control/Rebirth are added). */
  metrics?: readonly MetricDefinition[];
  devices?: readonly DeviceDefinition[];
  /** Wait for this host's STATE before births, and leave the broker when it goes offline. @default config's `sparkplug.primaryHostId` */
  primaryHost?: string;
  /** Keeps bdSeq across restarts. @default kept in memory only */
  bdSeqFile?: string;
  /** Send DATA by alias (births carry name and alias). @default true */
  aliases?: boolean;
  /** DATA kept while no host listens (store and forward), sent as historical after the next births. @default 10000 */
  maxStored?: number;
  /** The clock (ms since the epoch, UTC). @default Date.now */
  clock?: () => number;
}

/** A write from a host (NCMD or DCMD), its metrics matched to the birth. */
export interface EdgeNodeCommand {
  /** The device written to; absent for the edge node itself. */
  readonly device?: string;
  readonly metrics: readonly {
    readonly name: string;
    readonly datatype: DataTypeName;
    readonly value: MetricValue;
  }[];
}

/** What an edge node has done, for a report. */
export interface EdgeNodeStats {
  readonly bdSeq: number | undefined;
  readonly published: Readonly<Record<"NBIRTH" | "NDATA" | "DBIRTH" | "DDATA" | "DDEATH" | "NDEATH", number>>;
  readonly rebirths: number;
  /** DATA messages waiting for a host (store and forward), and those dropped because the buffer was full. */
  readonly stored: number;
  readonly dropped: number;
}

type PublishedType = keyof EdgeNodeStats["published"];

interface Device {
  readonly metrics: MetricSet;
  online: boolean;
}

interface Stored {
  readonly device: string | undefined;
  readonly metrics: Metric[];
}

const BDSEQ = "bdSeq";
const QOS0 = { qos: 0, retain: false } as const;
/** What `update()` resolves with for the usual small counts, made once. */
const RESOLVED_COUNTS = Array.from({ length: 17 }, (_, n) => Promise.resolve(n));

/** The first session of an edge node (set by the class, so it is no part of its public API). */
let firstSession: (edge: EdgeNode) => Promise<void>;

/**
 * A Sparkplug B edge node over mutual TLS, from {@link startEdgeNode}. Its Will is its NDEATH (QoS 1, with a
 * bdSeq that advances on every CONNECT); it publishes NBIRTH (seq 0, every metric) and DBIRTHs before any DATA,
 * reports by exception, rebirths when asked, waits for its primary host, and stores DATA while no host listens.
 *
 * @example
 * ```ts
 * await using edge = await startEdgeNode("config/edge.json", {
 *   group: "Plant1",
 *   node: "line1-plc",
 *   metrics: [{ name: "Tank/Level", datatype: "Float", value: 0, deadband: 0.5 }],
 * });
 * edge.on("command", (command) => console.log(command.metrics));
 * await edge.update({ "Tank/Level": 72.4 });
 * ```
 */
export class EdgeNode extends EventEmitter<{
  /** A host wrote to the node or a device. */
  command: [command: EdgeNodeCommand];
  /** Births were published in this session (after connecting, a host's STATE, or a rebirth request). */
  born: [];
  /** The primary host's STATE changed. */
  hostState: [state: HostState];
  /** Something went wrong that the node survives (a bad command, a bdSeq not stored, a failed connection). */
  diagnosis: [finding: Finding];
  state: [state: ClientState];
}> {
  readonly group: string;
  readonly node: string;
  readonly primaryHost: string | undefined;
  /** The TLS transport underneath. */
  readonly client: SecureClient;
  readonly #nodeMetrics: MetricSet;
  readonly #devices = new Map<string, Device>();
  readonly #bdSeq: BdSeqCounter;
  readonly #now: () => number;
  readonly #maxStored: number;
  readonly #stored: Stored[] = [];
  readonly #published = { NBIRTH: 0, NDATA: 0, DBIRTH: 0, DDATA: 0, DDEATH: 0, NDEATH: 0 };
  #dropped = 0;
  #rebirths = 0;
  #seq = 0;
  #born = false;
  #stopped = false;
  #hostState: HostState | undefined;
  /** The last STATE timestamp seen from the primary host, across sessions: an older one is stale. */
  #hostTimestamp = -Infinity;

  /** @internal use {@link startEdgeNode} */
  constructor(
    client: SecureClient,
    parts: {
      group: string;
      node: string;
      primaryHost: string | undefined;
      nodeMetrics: MetricSet;
      devices: Map<string, MetricSet>;
      bdSeq: BdSeqCounter;
      now: () => number;
      maxStored: number;
    },
  ) {
    super();
    this.client = client;
    this.group = parts.group;
    this.node = parts.node;
    this.primaryHost = parts.primaryHost;
    this.#nodeMetrics = parts.nodeMetrics;
    for (const [id, metrics] of parts.devices) this.#devices.set(id, { metrics, online: true });
    this.#bdSeq = parts.bdSeq;
    this.#now = parts.now;
    this.#maxStored = parts.maxStored;
    client.on("state", (state) => {
      this.emit("state", state);
      if (state === "connected") void this.#sessionStarted();
      else this.#born = false;
    });
    client.on("diagnosis", (finding) => this.emit("diagnosis", finding));
    client.on("message", (topic, payload) => this.#onMessage(topic, payload));
    // The client connected before this node listened: its first session starts now.
    this.#firstSession = client.state === "connected" ? this.#sessionStarted() : Promise.resolve();
  }

  /** The first session's subscriptions and births: {@link startEdgeNode} resolves after them. */
  readonly #firstSession: Promise<void>;

  static {
    firstSession = (edge) => edge.#firstSession;
  }

  /** Whether births are out in the current session (DATA is published, not stored). */
  get born(): boolean {
    return this.#born;
  }

  /** The primary host's last STATE, when one is configured. */
  get hostState(): HostState | undefined {
    return this.#hostState;
  }

  get stats(): EdgeNodeStats {
    return {
      bdSeq: this.#bdSeq.current,
      published: { ...this.#published },
      rebirths: this.#rebirths,
      stored: this.#stored.length,
      dropped: this.#dropped,
    };
  }

  /** The topics of this node's commands and its primary host's STATE. */
  #subscriptions(): string[] {
    return [
      formatTopic({ type: "NCMD", group: this.group, node: this.node }),
      `spBv1.0/${this.group}/DCMD/${this.node}/+`,
      ...(this.primaryHost ? [formatTopic({ type: "STATE", host: this.primaryHost })] : []),
    ];
  }

  /** A new MQTT session: subscribe (tck-id-message-flow-edge-node-ncmd-subscribe), then births or wait for the host. */
  async #sessionStarted(): Promise<void> {
    this.#born = false;
    this.#hostState = undefined;
    try {
      await this.client.subscribe(this.#subscriptions(), { qos: 1 });
    } catch {
      return; // the connection went again: the next session subscribes
    }
    // tck-id-message-flow-edge-node-birth-publish-phid-wait: with a primary host, births wait for its STATE.
    if (!this.primaryHost && this.client.state === "connected") this.#tryBirth();
  }

  /** Topics by message type and device, made once (the ids were checked at start). */
  readonly #topics = new Map<MessageType, Map<string | undefined, string>>();

  #topic(type: MessageType, device: string | undefined): string {
    let byDevice = this.#topics.get(type);
    if (!byDevice) this.#topics.set(type, (byDevice = new Map()));
    let topic = byDevice.get(device);
    if (topic === undefined) {
      topic = formatTopic(
        device === undefined
          ? { type, group: this.group, node: this.node }
          : { type, group: this.group, node: this.node, device },
      );
      byDevice.set(device, topic);
    }
    return topic;
  }

  /**
   * Encodes and publishes; a payload with a seq (the node's next, `this.#seq`) advances it only once encoded, so a
   * value that does not fit its datatype throws with no seq used.
   */
  #publish(type: MessageType, device: string | undefined, payload: Payload, set: MetricSet): void {
    // Copied into Node's buffer pool: wrapping `bytes.buffer` would make V8 move a small array off its heap (slow).
    const bytes = encodePayload(payload, set.codec);
    if (payload.seq !== undefined) this.#seq = (payload.seq + 1) % 256;
    // Births, DATA and deaths: QoS 0, not retained (tck-id-topics-nbirth-mqtt, -ndata-mqtt, -dbirth-mqtt, ...).
    void this.client.publish(this.#topic(type, device), Buffer.from(bytes), QOS0);
    if (type in this.#published) this.#published[type as PublishedType]++;
  }

  /**
   * Births, from a message handler or a new session: a failure is a diagnosis, never an exception out of the MQTT
   * client's event.
   */
  #tryBirth(): void {
    try {
      this.#birth();
    } catch (error) {
      const findings =
        isSparkplugError(error) && error.findings.length > 0
          ? error.findings
          : [
              createFinding(
                "SPARKPLUG_PAYLOAD_INVALID",
                "error",
                `The births could not be made: ${(error as Error).message}`,
              ),
            ];
      for (const finding of findings) this.emit("diagnosis", finding);
    }
  }

  /** NBIRTH (seq 0, bdSeq of this session's Will, every metric), then every online device's DBIRTH. */
  #birth(): void {
    const timestamp = this.#now();
    this.#seq = 0;
    const bdSeq = this.#bdSeq.current ?? 0;
    const metrics: Metric[] = [
      { name: BDSEQ, datatype: "Int64", timestamp, value: BigInt(bdSeq) },
      // tck-id-operational-behavior-data-commands-rebirth-name-aliases: no alias for Node Control/Rebirth.
      { name: REBIRTH_METRIC, datatype: "Boolean", timestamp, value: false },
      ...this.#nodeMetrics.birth(timestamp),
    ];
    this.#publish("NBIRTH", undefined, { timestamp, seq: this.#seq, metrics }, this.#nodeMetrics);
    for (const [id, device] of this.#devices)
      if (device.online)
        this.#publish(
          "DBIRTH",
          id,
          { timestamp, seq: this.#seq, metrics: device.metrics.birth(timestamp) },
          device.metrics,
        );
    this.#born = true;
    this.#flushStored();
    this.emit("born");
  }

  /** Stored DATA after the births, as historical (tck: is_historical keeps it off the real-time values). */
  #flushStored(): void {
    for (const stored of this.#stored.splice(0)) {
      const set = stored.device === undefined ? this.#nodeMetrics : this.#devices.get(stored.device)?.metrics;
      if (!set) continue;
      const metrics = stored.metrics.map((m) => ({ ...m, isHistorical: true }));
      this.#publish(
        stored.device === undefined ? "NDATA" : "DDATA",
        stored.device,
        {
          timestamp: this.#now(),
          seq: this.#seq,
          metrics,
        },
        set,
      );
    }
  }

  /**
   * New values of the node's metrics (or a device's): published as NDATA/DDATA with what changed beyond its
   * deadband (report by exception); while no host listens they are stored and sent as historical after the next
   * births. Resolves with the number of metrics published or stored.
   *
   * @example
   * ```ts
   * await edge.update({ "Pump/Running": true });
   * await edge.update({ Level: 72.4 }, { device: "tank1" });
   * ```
   * @throws {SparkplugError} `SPARKPLUG_METRIC_UNKNOWN` for a metric not in the birth, `SPARKPLUG_PAYLOAD_INVALID`
   * for a value that does not fit its datatype, `NOT_RUNNING` after `stop()` or for an unknown device.
   */
  update(
    values: Readonly<Record<string, MetricValue>>,
    options: { device?: string; timestamp?: number } = {},
  ): Promise<number> {
    // Not async: one promise per call, made here (the publish path allocates as little as it can).
    try {
      const count = this.#update(values, options);
      return RESOLVED_COUNTS[count] ?? Promise.resolve(count);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #update(
    values: Readonly<Record<string, MetricValue>>,
    options: { device?: string; timestamp?: number },
  ): number {
    if (this.#stopped) throw new SparkplugError("NOT_RUNNING", `The edge node ${this.node} is stopped.`);
    const device = options.device === undefined ? undefined : this.#devices.get(options.device);
    if (options.device !== undefined && !device)
      throw new SparkplugError(
        "NOT_RUNNING",
        `The edge node ${this.node} has no device "${options.device}".`,
      );
    const set = device?.metrics ?? this.#nodeMetrics;
    const timestamp = options.timestamp ?? this.#now();
    const live = this.#born && (device?.online ?? true);
    const changed = set.update(values, timestamp, this.#born ? live : true);
    if (changed.length === 0) return 0;
    if (live) {
      this.#publish(
        options.device === undefined ? "NDATA" : "DDATA",
        options.device,
        {
          timestamp,
          seq: this.#seq,
          metrics: changed,
        },
        set,
      );
    } else if (!this.#born && (device?.online ?? true)) {
      encodePayload({ metrics: changed }, set.codec); // a value that does not fit is refused now, not later
      this.#stored.push({ device: options.device, metrics: changed });
      if (this.#stored.length > this.#maxStored) {
        this.#stored.shift();
        this.#dropped++;
      }
    }
    return changed.length;
  }

  /**
   * A device is lost (DDEATH) or back (DBIRTH with its current values).
   *
   * @example
   * ```ts
   * edge.setDeviceOnline("tank1", false); // DDEATH
   * edge.setDeviceOnline("tank1", true); // DBIRTH
   * ```
   * @throws {SparkplugError} `NOT_RUNNING` for a device the node does not have.
   */
  setDeviceOnline(id: string, online: boolean): void {
    const device = this.#devices.get(id);
    if (!device) throw new SparkplugError("NOT_RUNNING", `The edge node ${this.node} has no device "${id}".`);
    if (device.online === online) return;
    device.online = online;
    if (!this.#born) return;
    const timestamp = this.#now();
    if (online)
      this.#publish(
        "DBIRTH",
        id,
        { timestamp, seq: this.#seq, metrics: device.metrics.birth(timestamp) },
        device.metrics,
      );
    // tck-id-operational-behavior-device-ddeath, tck-id-payloads-ddeath-seq-inc
    else this.#publish("DDEATH", id, { timestamp, seq: this.#seq, metrics: [] }, device.metrics);
  }

  /**
   * Publishes every birth again (what a host's rebirth request does).
   *
   * @example
   * ```ts
   * edge.rebirth();
   * ```
   */
  rebirth(): void {
    if (!this.#born) return;
    this.#rebirths++;
    this.#tryBirth();
  }

  #onMessage(topic: string, bytes: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed) return;
    if (parsed.type === "STATE") {
      if (parsed.host === this.primaryHost) this.#onHostState(bytes);
      return;
    }
    if (parsed.group !== this.group || parsed.node !== this.node) return;
    if (parsed.type !== "NCMD" && parsed.type !== "DCMD") return;
    const device = parsed.device === undefined ? undefined : this.#devices.get(parsed.device);
    if (parsed.type === "DCMD" && !device) return;
    const set = device?.metrics ?? this.#nodeMetrics;
    let payload: Payload;
    try {
      payload = decodePayload(bytes, {
        datatypeOf: (m) => (m.name === REBIRTH_METRIC ? "Boolean" : set.datatypeOf(m)),
      });
    } catch (error) {
      if (isSparkplugError(error)) for (const finding of error.findings) this.emit("diagnosis", finding);
      return;
    }
    const written: { name: string; datatype: DataTypeName; value: MetricValue }[] = [];
    for (const metric of payload.metrics) {
      // tck-id-operational-behavior-data-commands-rebirth-action-1/-2/-3: stop DATA, births again, same bdSeq.
      if (parsed.type === "NCMD" && metric.name === REBIRTH_METRIC) {
        if (metric.value === true) this.rebirth();
        continue;
      }
      const definition = set.resolve(metric);
      if (!definition || metric.value === undefined) {
        this.emit("diagnosis", {
          code: "SPARKPLUG_METRIC_UNKNOWN",
          severity: "warning",
          message: `A ${parsed.type} for ${this.node}${parsed.device ? `/${parsed.device}` : ""} writes ${metric.name ? `"${metric.name}"` : `alias ${metric.alias}`}, which is not in its birth: ignored.`,
        });
        continue;
      }
      if (metric.datatype !== undefined && metric.datatype !== definition.datatype) {
        this.emit(
          "diagnosis",
          createFinding(
            "SPARKPLUG_PAYLOAD_INVALID",
            "warning",
            `A ${parsed.type} writes "${definition.name}" as a ${metric.datatype}; its birth made it a ${definition.datatype}: ignored.`,
          ),
        );
        continue;
      }
      written.push({ name: definition.name, datatype: definition.datatype, value: metric.value });
    }
    if (written.length > 0)
      this.emit("command", {
        ...(parsed.device !== undefined ? { device: parsed.device } : {}),
        metrics: written,
      });
  }

  #onHostState(bytes: Buffer): void {
    if (this.#stopped) return;
    const state = parseState(bytes);
    // tck-id-message-flow-edge-node-birth-publish-phid-wait-timestamp: an older STATE than the last one is stale.
    if (!state || state.timestamp < this.#hostTimestamp) return;
    this.#hostTimestamp = state.timestamp;
    this.#hostState = state;
    this.emit("hostState", state);
    if (state.online && !this.#born && this.client.state === "connected") this.#tryBirth();
    else if (!state.online && this.#born) {
      // tck-id-operational-behavior-edge-node-termination-host-offline: NDEATH, then leave this broker; the
      // transport reconnects (next URL of a list after a failure) with a new bdSeq and waits for the host again.
      this.#born = false;
      this.#publishDeath();
      this.client.mqtt.stream.destroy();
    }
  }

  #publishDeath(): void {
    const bdSeq = this.#bdSeq.current ?? 0;
    const timestamp = this.#now();
    this.#publish(
      "NDEATH",
      undefined,
      { timestamp, metrics: [{ name: BDSEQ, datatype: "Int64", value: BigInt(bdSeq) }] },
      this.#nodeMetrics,
    );
  }

  /**
   * Ends the node: NDEATH first (tck-id-operational-behavior-edge-node-intentional-disconnect-ndeath), then
   * DISCONNECT (under MQTT 5 with reason 4, "Disconnect with Will Message").
   *
   * @example
   * ```ts
   * await edge.stop();
   * ```
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const connected = this.client.state === "connected";
    if (connected) this.#publishDeath();
    this.#born = false;
    const v5 = this.client.mqtt.options.protocolVersion === 5;
    await this.client.end(false, v5 && connected ? { reasonCode: 4 } : {});
    await this.#bdSeq.flush();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

const EDGE_ONLY = new Set<string>([
  "group",
  "node",
  "metrics",
  "devices",
  "primaryHost",
  "bdSeqFile",
  "aliases",
  "maxStored",
  "clock",
]);

/** The options that belong to the TLS transport. */
function transportOptions(options: EdgeNodeOptions): SecureClientOptions {
  return Object.fromEntries(Object.entries(options).filter(([key]) => !EDGE_ONLY.has(key)));
}

/** The NDEATH Will of a session with this bdSeq (tck-id-payloads-ndeath-will-message-qos: QoS 1, not retained). */
function deathWill(group: string, node: string, bdSeq: number, now: number) {
  return {
    topic: formatTopic({ type: "NDEATH", group, node }),
    payload: Buffer.from(
      encodePayload({ timestamp: now, metrics: [{ name: BDSEQ, datatype: "Int64", value: BigInt(bdSeq) }] }),
    ),
    qos: 1 as const,
    retain: false,
  };
}

/**
 * Connects a Sparkplug B edge node over mutual TLS and publishes its births (or waits for its primary host).
 * Group, node and primary host come from the options or the configuration's `sparkplug` section.
 *
 * @example
 * ```ts
 * const edge = await startEdgeNode("config/edge.json", {
 *   metrics: [{ name: "Pump/Running", datatype: "Boolean", value: false }],
 *   devices: [{ id: "tank1", metrics: [{ name: "Level", datatype: "Float", value: 0 }] }],
 *   bdSeqFile: "state/bdseq",
 * });
 * ```
 * @throws {SparkplugError} `SPARKPLUG_NOT_MUTUAL_TLS`, `SPARKPLUG_ID_INVALID` (before anything is published),
 * `BDSEQ_STORE_FAILED`; {@link MqttTlsError} with the diagnosis when the first connection fails.
 */
export async function startEdgeNode(config: unknown, options: EdgeNodeOptions = {}): Promise<EdgeNode> {
  const loaded: LoadedConfig = await loadMutualTls(config, options);
  const sparkplug = loaded.resolved?.config.sparkplug;
  const group = options.group ?? sparkplug?.groupId;
  const node = options.node ?? sparkplug?.edgeNodeId;
  if (group === undefined || node === undefined)
    throw new SparkplugError("SPARKPLUG_ID_INVALID", "An edge node needs a group id and an edge node id.", {
      remedy:
        'Give them as options, or in the configuration: "sparkplug": { "groupId": "...", "edgeNodeId": "..." }.',
    });
  assertSparkplugId("group id", group);
  assertSparkplugId("edge node id", node);
  const primaryHost = options.primaryHost ?? sparkplug?.primaryHostId;
  if (primaryHost !== undefined) assertSparkplugId("primary host id", primaryHost);
  const deviceDefinitions =
    options.devices ?? (sparkplug?.deviceIds ?? []).map((id) => ({ id, metrics: [] }));
  const lower = new Set<string>();
  for (const device of deviceDefinitions) {
    assertSparkplugId("device id", device.id);
    // tck-id-topic-structure-namespace-unique-device-id
    if (lower.has(device.id.toLowerCase()))
      throw new SparkplugError(
        "SPARKPLUG_ID_INVALID",
        `The device id "${device.id}" is used twice (ids are compared without case).`,
      );
    lower.add(device.id.toLowerCase());
  }
  let alias = 0;
  const nextAlias = options.aliases === false ? () => undefined : () => ++alias;
  for (const reserved of [BDSEQ, REBIRTH_METRIC])
    if (options.metrics?.some((m) => m.name === reserved))
      throw new SparkplugError(
        "SPARKPLUG_PAYLOAD_INVALID",
        `The metric name "${reserved}" is the edge node's own.`,
      );
  const nodeMetrics = new MetricSet(`The edge node ${node}`, options.metrics ?? [], nextAlias);
  const devices = new Map(
    deviceDefinitions.map(
      (d) => [d.id, new MetricSet(`The device ${node}/${d.id}`, d.metrics, nextAlias)] as const,
    ),
  );
  const now = options.clock ?? Date.now;
  const started: { edge?: EdgeNode } = {};
  // The first number is stored here (a file that cannot be written throws now); a later failure is a diagnosis.
  const bdSeq = await BdSeqCounter.open(options.bdSeqFile, (error) =>
    started.edge?.emit(
      "diagnosis",
      createFinding("SPARKPLUG_BDSEQ_NOT_STORED", "warning", error.message, {
        remedy: "Check that the bdSeq file's folder is writable and not full.",
      }),
    ),
  );
  const client = await connectSecure(loaded, {
    ...transportOptions(options),
    clean: true, // tck-id-principles-persistence-clean-session-311 / -50 (no Session Expiry: 0)
    will: () => deathWill(group, node, bdSeq.next(), now()),
  });
  const edge = (started.edge = new EdgeNode(client, {
    group,
    node,
    primaryHost,
    nodeMetrics,
    devices,
    bdSeq,
    now,
    maxStored: options.maxStored ?? 10_000,
  }));
  // Births are out (or, with a primary host, the node listens for its STATE) before the caller's first update.
  try {
    await firstSession(edge);
  } catch (error) {
    await client.end(true);
    throw error;
  }
  return edge;
}
