import type { DataTypeName, HostEvent, MetricSnapshot, NodeSnapshot } from "@proj/sparkplug";

/**
 * The kind of Geo SCADA Expert point a birth metric becomes: its core point families (analog, digital, string,
 * time). Which driver-specific class Geo SCADA creates for each is its own business; this is the family.
 */
export type GeoScadaPointKind = "analog" | "digital" | "string" | "time";

/** One point Geo SCADA's "Create Points from Birth Metrics" pick action would make for a metric. */
export interface GeoScadaPoint {
  readonly group: string;
  readonly node: string;
  /** The Sparkplug device; absent for a metric of the edge node itself. */
  readonly device?: string;
  /** The point's Metric Name: the metric name from the birth. */
  readonly metric: string;
  readonly datatype: DataTypeName;
  readonly kind: GeoScadaPointKind;
  /** Engineering units from the birth's `engUnit` (or `units`) property, where it has one. */
  readonly units?: string;
}

/** A metric that makes no point, and why. */
export interface SkippedMetric {
  readonly group: string;
  readonly node: string;
  readonly device?: string;
  readonly metric: string;
  readonly datatype: DataTypeName;
  readonly reason: string;
}

const KINDS: Partial<Record<DataTypeName, GeoScadaPointKind>> = {
  Int8: "analog",
  Int16: "analog",
  Int32: "analog",
  Int64: "analog",
  UInt8: "analog",
  UInt16: "analog",
  UInt32: "analog",
  UInt64: "analog",
  Float: "analog",
  Double: "analog",
  Boolean: "digital",
  String: "string",
  Text: "string",
  UUID: "string",
  DateTime: "time",
};

function unitsOf(metric: MetricSnapshot): string | undefined {
  const properties = metric.properties ?? {};
  const key = Object.keys(properties).find((k) =>
    ["engunit", "engunits", "units", "unit"].includes(k.toLowerCase()),
  );
  const value = key === undefined ? undefined : properties[key]?.value;
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/**
 * The points Geo SCADA Expert's "Create Points from Birth Metrics" would make from what a host learned: one per
 * birth metric whose datatype has a point family (numbers analog, Boolean digital, strings string, DateTime time),
 * with the units the birth gives. Control metrics (`Node Control/*`, `Device Control/*`) and datatypes with no
 * point (Bytes, File, DataSet, Template, arrays) are listed as skipped, with the reason.
 *
 * @example
 * ```ts
 * const { points, skipped } = pointsFromBirths([...host.nodes.values()].map(snapshotNode));
 * await writeFile("points.csv", pointsCsv(points));
 * ```
 */
export function pointsFromBirths(nodes: readonly NodeSnapshot[]): {
  points: GeoScadaPoint[];
  skipped: SkippedMetric[];
} {
  const points: GeoScadaPoint[] = [];
  const skipped: SkippedMetric[] = [];
  const add = (node: NodeSnapshot, device: string | undefined, metrics: readonly MetricSnapshot[]) => {
    for (const metric of metrics) {
      const where = { group: node.group, node: node.node, ...(device !== undefined ? { device } : {}) };
      const kind = KINDS[metric.datatype];
      if (/^(Node|Device) Control\//.test(metric.name))
        skipped.push({
          ...where,
          metric: metric.name,
          datatype: metric.datatype,
          reason: "a control metric of the Sparkplug session",
        });
      else if (!kind)
        skipped.push({
          ...where,
          metric: metric.name,
          datatype: metric.datatype,
          reason: `no point family holds a ${metric.datatype}`,
        });
      else {
        const units = unitsOf(metric);
        points.push({
          ...where,
          metric: metric.name,
          datatype: metric.datatype,
          kind,
          ...(units ? { units } : {}),
        });
      }
    }
  };
  for (const node of nodes) {
    add(node, undefined, node.metrics);
    for (const device of node.devices) add(node, device.device, device.metrics);
  }
  return { points, skipped };
}

const csvField = (value: string | undefined): string =>
  value === undefined ? "" : /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;

/**
 * The points as CSV (RFC 4180, header first): group, node, device, metric, datatype, kind, units.
 *
 * @example
 * ```ts
 * process.stdout.write(pointsCsv(pointsFromBirths(nodes).points));
 * ```
 */
export function pointsCsv(points: readonly GeoScadaPoint[]): string {
  const rows = [["group", "node", "device", "metric", "datatype", "kind", "units"].join(",")];
  for (const p of points)
    rows.push([p.group, p.node, p.device, p.metric, p.datatype, p.kind, p.units].map(csvField).join(","));
  return `${rows.join("\r\n")}\r\n`;
}

/** A time as Geo SCADA shows it in a status attribute: local-free, UTC, to the second. */
const when = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " UTC");

/**
 * The Online State status attribute of an edge node or device, as Geo SCADA Expert words it: "True, NBIRTH received
 * <time>", "False, NDEATH received <time>" or "False, no NBIRTH received" (DBIRTH / DDEATH for a device).
 *
 * @example
 * ```ts
 * onlineState(snapshotNode(host.nodes.get("Plant1/line1-plc")!)); // "True, NBIRTH received 2026-12-06 20:51:02 UTC"
 * ```
 */
export function onlineState(item: {
  readonly online: boolean;
  readonly birthAt?: number;
  readonly deathAt?: number;
  readonly device?: string;
}): string {
  const [birth, death] = item.device === undefined ? ["NBIRTH", "NDEATH"] : ["DBIRTH", "DDEATH"];
  if (item.online && item.birthAt !== undefined) return `True, ${birth} received ${when(item.birthAt)}`;
  if (!item.online && item.deathAt !== undefined) return `False, ${death} received ${when(item.deathAt)}`;
  return `False, no ${birth} received`;
}

/** An entry of Geo SCADA's Events List for a Sparkplug driver event. */
export interface GeoScadaEvent {
  readonly time: number;
  readonly category: "Sparkplug B Online State" | "Sparkplug B Sequence Number Error";
  readonly source: string;
  readonly message: string;
}

/**
 * A host's events as Geo SCADA Expert's Events List shows them: births and deaths under "Sparkplug B Online State",
 * sequence gaps (and the rebirths they caused) under "Sparkplug B Sequence Number Error"; rebirths asked for other
 * reasons (a reconnect, data without a birth) are not Geo SCADA events.
 *
 * @example
 * ```ts
 * for (const e of geoScadaEvents(host.events)) console.log(e.category, e.source, e.message);
 * ```
 */
export function geoScadaEvents(events: readonly HostEvent[]): GeoScadaEvent[] {
  return events.flatMap((event): GeoScadaEvent[] => {
    const source = `${event.group}/${event.node}${"device" in event ? `/${event.device}` : ""}`;
    switch (event.type) {
      case "NBIRTH":
      case "DBIRTH":
        return [
          {
            time: event.time,
            category: "Sparkplug B Online State",
            source,
            message: `Online, ${event.type} received`,
          },
        ];
      case "NDEATH":
      case "DDEATH":
        return [
          {
            time: event.time,
            category: "Sparkplug B Online State",
            source,
            message: `Offline, ${event.type} received`,
          },
        ];
      case "SEQ_GAP":
        return [
          {
            time: event.time,
            category: "Sparkplug B Sequence Number Error",
            source,
            message: `Expected sequence number ${event.expected}, received ${event.received}`,
          },
        ];
      case "REBIRTH_REQUESTED":
        // Only the rebirth a sequence gap caused belongs to the sequence errors; others are the host's own business.
        return event.reason.startsWith("seq ")
          ? [
              {
                time: event.time,
                category: "Sparkplug B Sequence Number Error",
                source,
                message: `Rebirth requested: ${event.reason}`,
              },
            ]
          : [];
    }
  });
}
