import { FINDING_CATALOGUE } from "@proj/findings";
import { MqttTlsError } from "./errors.js";

/** The most UTF-8 bytes an MQTT topic name or filter may have (a two-byte length prefix). */
export const MAX_TOPIC_BYTES = 65_535;

/**
 * What is wrong with a topic name (`"name"`: what a PUBLISH carries, no wildcards) or a topic filter (`"filter"`:
 * what a SUBSCRIBE carries, `+` for one whole level, `#` as the whole last level), by the rules of MQTT 3.1.1 and 5
 * (section 4.7); `undefined` when it is valid. Empty levels (`a//b`, `/a`) are valid topics. A broker closes the
 * connection on a topic that breaks these rules, so they are checked before anything is sent.
 *
 * @example
 * ```ts
 * topicProblem("plant/line1/level", "name"); // undefined
 * topicProblem("plant/+/level", "name"); // "a topic name cannot hold the wildcard +: wildcards belong in subscriptions"
 * topicProblem("plant/#/level", "filter"); // "# must be the last level of a filter"
 * ```
 */
export function topicProblem(topic: string, kind: "name" | "filter"): string | undefined {
  if (topic.length === 0) return `a topic ${kind} cannot be empty`;
  const bytes = Buffer.byteLength(topic, "utf8");
  if (bytes > MAX_TOPIC_BYTES)
    return `a topic ${kind} has at most ${MAX_TOPIC_BYTES} UTF-8 bytes; this one has ${bytes}`;
  if (topic.includes("\u0000")) return `a topic ${kind} cannot hold the null character`;
  if (kind === "name") {
    const wildcard = /[+#]/.exec(topic)?.[0];
    return wildcard === undefined
      ? undefined
      : `a topic name cannot hold the wildcard ${wildcard}: wildcards belong in subscriptions`;
  }
  const levels = topic.split("/");
  for (const [i, level] of levels.entries()) {
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1))
      return level === "#" ? "# must be the last level of a filter" : "# must stand alone in its level";
    if (level.includes("+") && level !== "+") return "+ must stand alone in its level";
  }
  return undefined;
}

/**
 * A topic as a message shows it: at most 60 characters, then an ellipsis (a 65,535-byte topic is not a message).
 *
 * @example
 * ```ts
 * topicForDisplay("x".repeat(70_000)); // "xxxx…" (61 characters)
 * ```
 */
export function topicForDisplay(topic: string): string {
  return topic.length > 60 ? `${topic.slice(0, 60)}…` : topic;
}

/** Topic names already found valid (bounded; shared by every client of the process, as topics are). */
const checkedNames = new Set<string>();

/**
 * The coded error (`TOPIC_INVALID`) for a topic MQTT does not allow, which a broker would close the connection on,
 * or `undefined`. Devices publish to the same few topics again and again: a valid name is remembered (up to 4096),
 * so it is not checked again on every publish.
 *
 * @example
 * ```ts
 * const invalid = topicError("plant/+/level", "name");
 * if (invalid) throw invalid; // TOPIC_INVALID
 * ```
 */
export function topicError(topic: string, kind: "name" | "filter"): MqttTlsError | undefined {
  if (kind === "name" && checkedNames.has(topic)) return undefined;
  const problem = topicProblem(topic, kind);
  if (problem === undefined) {
    if (kind === "name" && checkedNames.size < 4096) checkedNames.add(topic);
    return undefined;
  }
  return new MqttTlsError("TOPIC_INVALID", `"${topicForDisplay(topic)}": ${problem}.`, {
    remedy: FINDING_CATALOGUE.TOPIC_INVALID.remedy,
  });
}
