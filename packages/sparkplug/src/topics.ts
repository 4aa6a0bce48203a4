import { createFinding } from "@proj/findings";
import { sparkplugIdProblem } from "@proj/security-config";
import { SparkplugError } from "./errors.js";

/** The Sparkplug B namespace, the first level of every topic. */
export const NAMESPACE = "spBv1.0";

/** The message types of an edge node and its devices. */
export type MessageType = "NBIRTH" | "NDEATH" | "NDATA" | "NCMD" | "DBIRTH" | "DDEATH" | "DDATA" | "DCMD";

const NODE_TYPES = new Set<string>(["NBIRTH", "NDEATH", "NDATA", "NCMD"]);
const DEVICE_TYPES = new Set<string>(["DBIRTH", "DDEATH", "DDATA", "DCMD"]);

/** Where a Sparkplug message goes: an edge node's (no `device`) or a device's topic, or a host's STATE. */
export type SparkplugTopic =
  | { readonly type: MessageType; readonly group: string; readonly node: string; readonly device?: string }
  | { readonly type: "STATE"; readonly host: string };

/**
 * Throws when an id cannot be a topic level: a finding-coded error, before anything is published.
 *
 * @example
 * ```ts
 * assertSparkplugId("edgeNodeId", "line1-plc");
 * ```
 * @throws {SparkplugError} `SPARKPLUG_ID_INVALID`
 */
export function assertSparkplugId(field: string, id: string): void {
  const problem = sparkplugIdProblem(id);
  if (problem === undefined) return;
  const message = `The Sparkplug ${field} "${id}" ${problem}: it cannot be a topic level.`;
  throw new SparkplugError("SPARKPLUG_ID_INVALID", message, {
    findings: [createFinding("SPARKPLUG_ID_INVALID", "error", message)],
    remedy:
      "Use an id of letters, digits, '-', '_' or '.', without + # or / (it becomes one MQTT topic level).",
  });
}

/**
 * The topic of a Sparkplug message; every id is checked first.
 *
 * @example
 * ```ts
 * formatTopic({ type: "DDATA", group: "Plant1", node: "line1-plc", device: "tank1" });
 * // "spBv1.0/Plant1/DDATA/line1-plc/tank1"
 * formatTopic({ type: "STATE", host: "scada" }); // "spBv1.0/STATE/scada"
 * ```
 * @throws {SparkplugError} `SPARKPLUG_ID_INVALID`, or `SPARKPLUG_TOPIC_INVALID` for a device id on a node message
 * type (or none on a device type).
 */
export function formatTopic(topic: SparkplugTopic): string {
  if (topic.type === "STATE") {
    assertSparkplugId("host id", topic.host);
    return `${NAMESPACE}/STATE/${topic.host}`;
  }
  assertSparkplugId("group id", topic.group);
  assertSparkplugId("edge node id", topic.node);
  const device = topic.device;
  // tck-id-topic-structure-namespace-device-id-associated-message-types / -non-associated-message-types
  if (DEVICE_TYPES.has(topic.type) !== (device !== undefined))
    throw new SparkplugError(
      "SPARKPLUG_TOPIC_INVALID",
      device === undefined ? `A ${topic.type} needs a device id.` : `A ${topic.type} has no device id.`,
    );
  if (device === undefined) return `${NAMESPACE}/${topic.group}/${topic.type}/${topic.node}`;
  assertSparkplugId("device id", device);
  return `${NAMESPACE}/${topic.group}/${topic.type}/${topic.node}/${device}`;
}

/**
 * Reads a topic of the Sparkplug B namespace; `undefined` for any other topic.
 *
 * @example
 * ```ts
 * parseTopic("spBv1.0/Plant1/NBIRTH/line1-plc"); // { type: "NBIRTH", group: "Plant1", node: "line1-plc" }
 * parseTopic("plant/line1/level"); // undefined
 * ```
 */
export function parseTopic(topic: string): SparkplugTopic | undefined {
  const levels = topic.split("/");
  if (levels[0] !== NAMESPACE) return undefined;
  if (levels[1] === "STATE")
    return levels.length === 3 && levels[2] ? { type: "STATE", host: levels[2] } : undefined;
  const [, group, type, node, device] = levels;
  if (!group || !type || !node || levels.length > 5) return undefined;
  if (NODE_TYPES.has(type) && levels.length === 4) return { type: type as MessageType, group, node };
  if (DEVICE_TYPES.has(type) && device) return { type: type as MessageType, group, node, device };
  return undefined;
}
