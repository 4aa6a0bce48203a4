import type { DataTypeName } from "./data-types.js";
import type { Metric, MetricValue, PropertySet } from "./payload.js";

/** What a host knows of one metric: from the birth, then each DATA. */
export interface MetricState {
  readonly name: string;
  readonly alias?: number;
  readonly datatype: DataTypeName;
  value: MetricValue;
  timestamp: number | undefined;
  /** The node or device died: the value is the last known, not the current one. */
  stale: boolean;
  readonly properties?: PropertySet;
}

/** The metrics of one node or device, by name and alias. */
export class MetricTable {
  readonly byName = new Map<string, MetricState>();
  readonly #byAlias = new Map<number, MetricState>();

  /** Learns the metrics of a birth; returns why the birth is wrong, if it is. */
  learn(metrics: readonly Metric[]): string | undefined {
    // Built aside and swapped in: a birth that is refused leaves the model as it was.
    const byName = new Map<string, MetricState>();
    const byAlias = new Map<number, MetricState>();
    for (const metric of metrics) {
      // tck-id-payloads-alias-birth-requirement, tck-id-payloads-metric-datatype-req, tck-id-topics-nbirth-metrics
      if (metric.name === undefined) return "has a metric without a name";
      if (metric.datatype === undefined) return `has the metric "${metric.name}" without a datatype`;
      if (metric.isHistorical) continue;
      // tck-id-payloads-alias-uniqueness
      if (metric.alias !== undefined && byAlias.has(metric.alias))
        return `gives the alias ${metric.alias} to "${byAlias.get(metric.alias)!.name}" and "${metric.name}"`;
      const state: MetricState = {
        name: metric.name,
        ...(metric.alias !== undefined ? { alias: metric.alias } : {}),
        datatype: metric.datatype,
        value: metric.value === undefined ? null : metric.value,
        timestamp: metric.timestamp,
        stale: false,
        ...(metric.properties ? { properties: metric.properties } : {}),
      };
      byName.set(metric.name, state);
      if (metric.alias !== undefined) byAlias.set(metric.alias, state);
    }
    this.byName.clear();
    this.#byAlias.clear();
    for (const [name, state] of byName) this.byName.set(name, state);
    for (const [alias, state] of byAlias) this.#byAlias.set(alias, state);
    return undefined;
  }

  /** The metric a DATA or command metric names (by name, else by alias). */
  resolve(metric: { readonly name?: string; readonly alias?: number }): MetricState | undefined {
    if (metric.name !== undefined) return this.byName.get(metric.name);
    return metric.alias === undefined ? undefined : this.#byAlias.get(metric.alias);
  }

  readonly datatypeOf = (metric: {
    readonly name?: string;
    readonly alias?: number;
  }): DataTypeName | undefined => this.resolve(metric)?.datatype;

  markStale(): void {
    for (const metric of this.byName.values()) metric.stale = true;
  }
}

/** A device as the host sees it. */
export interface DeviceState {
  readonly device: string;
  online: boolean;
  readonly metrics: MetricTable;
  /** When the last DBIRTH / DDEATH arrived (ms, UTC). */
  birthAt: number | undefined;
  deathAt: number | undefined;
}

/** An edge node as the host sees it. */
export interface NodeState {
  readonly group: string;
  readonly node: string;
  online: boolean;
  /** The bdSeq of its last NBIRTH: only an NDEATH with the same one ends that session. */
  bdSeq: bigint | undefined;
  /** The seq of the last message handled in order. */
  lastSeq: number | undefined;
  readonly metrics: MetricTable;
  readonly devices: Map<string, DeviceState>;
  birthAt: number | undefined;
  deathAt: number | undefined;
}

/** One metric as reports show it: 64-bit values as strings in JSON. */
export interface MetricSnapshot {
  readonly name: string;
  readonly alias?: number;
  readonly datatype: DataTypeName;
  readonly value: unknown;
  readonly stale: boolean;
  readonly properties?: PropertySet;
}

/** A node of the host's model, as `mqtt-tls sparkplug host --json` prints it. */
export interface NodeSnapshot {
  readonly group: string;
  readonly node: string;
  readonly online: boolean;
  readonly bdSeq: number | undefined;
  readonly birthAt?: number;
  readonly deathAt?: number;
  readonly metrics: MetricSnapshot[];
  readonly devices: {
    readonly device: string;
    readonly online: boolean;
    readonly birthAt?: number;
    readonly deathAt?: number;
    readonly metrics: MetricSnapshot[];
  }[];
}

/**
 * A value as JSON can hold it: 64-bit integers as decimal strings, bytes as hex, DataSets and Templates as objects
 * with the same rule inside.
 *
 * @example
 * ```ts
 * jsonValue(12n); // "12"
 * ```
 */
export function jsonValue(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]));
  return value;
}

function metricSnapshots(table: MetricTable): MetricSnapshot[] {
  return [...table.byName.values()].map((m) => ({
    name: m.name,
    ...(m.alias !== undefined ? { alias: m.alias } : {}),
    datatype: m.datatype,
    value: jsonValue(m.value),
    stale: m.stale,
    ...(m.properties ? { properties: jsonValue(m.properties) as PropertySet } : {}),
  }));
}

/**
 * A node as JSON: what the CLI prints and what Geo SCADA's views are made from.
 *
 * @example
 * ```ts
 * const nodes = [...host.nodes.values()].map(snapshotNode);
 * ```
 */
export function snapshotNode(node: NodeState): NodeSnapshot {
  return {
    group: node.group,
    node: node.node,
    online: node.online,
    bdSeq: node.bdSeq === undefined ? undefined : Number(node.bdSeq),
    ...(node.birthAt !== undefined ? { birthAt: node.birthAt } : {}),
    ...(node.deathAt !== undefined ? { deathAt: node.deathAt } : {}),
    metrics: metricSnapshots(node.metrics),
    devices: [...node.devices.values()].map((d) => ({
      device: d.device,
      online: d.online,
      ...(d.birthAt !== undefined ? { birthAt: d.birthAt } : {}),
      ...(d.deathAt !== undefined ? { deathAt: d.deathAt } : {}),
      metrics: metricSnapshots(d.metrics),
    })),
  };
}
