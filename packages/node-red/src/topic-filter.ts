/**
 * Whether an MQTT topic filter (with `+` and `#` wildcards) matches a topic name. Topics starting with `$` are
 * matched only by filters that name that first level (MQTT 3.1.1 §4.7.2).
 *
 * @example
 * ```ts
 * topicMatches("plant/+/level", "plant/line1/level"); // true
 * ```
 */
export function topicMatches(filter: string, topic: string): boolean {
  // A shared subscription ($share/<group>/<filter>) delivers what its filter matches.
  const f = filter.startsWith("$share/") ? filter.split("/").slice(2) : filter.split("/");
  const t = topic.split("/");
  if (topic.startsWith("$") && (f[0] === "+" || f[0] === "#")) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
