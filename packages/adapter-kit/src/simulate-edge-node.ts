import type { EdgeNode, EdgeNodeOptions, MetricDefinition, MetricValue } from "@proj/sparkplug";
import type { Adapter, SimulatedTag } from "./define.js";
import { prepareDevice, simulatedValue, type DeviceBehaviour } from "./simulate.js";

/** Options of {@link simulateEdgeNode}: the edge node's (group, node, primary host, ...) and the device's clientId. */
export interface SimulateEdgeNodeOptions extends Omit<EdgeNodeOptions, "metrics" | "devices"> {
  /** Report the tags as metrics of these devices (each with every tag) instead of the node's own. */
  devices?: readonly string[];
  /** @default the config's clientId, else `<adapter id>-sim-<random>` */
  clientId?: string;
  /** Overrides the adapter's simulated tags. */
  tags?: readonly SimulatedTag[];
}

/** A simulated device speaking Sparkplug B, from {@link simulateEdgeNode}. */
export interface SimulatedEdgeNode extends AsyncDisposable {
  readonly edge: EdgeNode;
  readonly behaviour: DeviceBehaviour;
  /** The metrics its births carry (besides bdSeq and Node Control/Rebirth). */
  readonly metrics: readonly MetricDefinition[];
  /** Updates every tag with its next simulated value; resolves with the metrics published (by exception). */
  publishRound(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A device's simulated tags as Sparkplug metrics: analog as Float with its unit as the `engUnit` property, boolean
 * as Boolean, counter as UInt64.
 *
 * @example
 * ```ts
 * sparkplugMetricsOf(nexto.simulation!.tags); // [{ name: "line1/tank-level", datatype: "Float", ... }, ...]
 * ```
 */
export function sparkplugMetricsOf(tags: readonly SimulatedTag[]): MetricDefinition[] {
  return tags.map((tag, index) => ({
    name: tag.name,
    datatype: tag.kind === "analog" ? "Float" : tag.kind === "boolean" ? "Boolean" : "UInt64",
    value: metricValue(tag, 0, index),
    ...(tag.unit ? { properties: { engUnit: { type: "String", value: tag.unit } } } : {}),
  }));
}

function metricValue(tag: SimulatedTag, round: number, index: number): MetricValue {
  const value = simulatedValue(tag, round, index);
  return tag.kind === "counter" ? BigInt(value) : value;
}

/**
 * Connects a device's simulator as a Sparkplug B edge node, as the device would (its TLS versions, suites and MQTT
 * version), with its simulated tags as metrics: what a SCADA host learns from a Nexto PLC's births, before anyone
 * goes on site.
 *
 * @example
 * ```ts
 * await using plc = await simulateEdgeNode(nexto, "plc.json", { group: "Plant1", node: "line1-nx3004" });
 * await plc.publishRound();
 * ```
 * @throws {AdapterError} `DEVICE_UNSUPPORTED` (the device could not load its files) or `CONFIG_INVALID`.
 * @throws {SparkplugError} / {@link MqttTlsError} as `startEdgeNode` does.
 */
export async function simulateEdgeNode(
  adapter: Adapter,
  config: unknown,
  options: SimulateEdgeNodeOptions = {},
): Promise<SimulatedEdgeNode> {
  const { devices, clientId, tags: ownTags, ...edgeOptions } = options;
  const { effective, validation, behaviour } = await prepareDevice(adapter, config, {
    ...(clientId !== undefined ? { clientId } : {}),
  });
  const tags = ownTags ?? adapter.simulation?.tags ?? [{ name: "heartbeat", kind: "counter" as const }];
  const metrics = sparkplugMetricsOf(tags);
  // Loaded on first use: checking configurations against a device needs no Sparkplug stack.
  const { startEdgeNode } = await import("@proj/sparkplug");
  const edge = await startEdgeNode(effective, {
    ...edgeOptions,
    explainWith: validation.findings.filter((f) => f.code === "DEVICE_UNSUPPORTED"),
    ...(devices && devices.length > 0 ? { devices: devices.map((id) => ({ id, metrics })) } : { metrics }),
  });
  let round = 0;
  const publishRound = async (): Promise<number> => {
    const current = ++round;
    const values = Object.fromEntries(tags.map((tag, i) => [tag.name, metricValue(tag, current, i)]));
    if (!devices || devices.length === 0) return edge.update(values);
    let published = 0;
    for (const device of devices) published += await edge.update(values, { device });
    return published;
  };
  const stop = () => edge.stop();
  return { edge, behaviour, metrics, publishRound, stop, [Symbol.asyncDispose]: stop };
}
