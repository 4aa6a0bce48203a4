import { assertSparkplugId } from "./topics.js";

/** Who may do what in a broker ACL for Sparkplug: host applications, and edge nodes pinned to their group. */
export interface SparkplugAclOptions {
  /**
   * Host applications by the identity of their client certificate (its CN): they read the whole namespace, write
   * commands, and own their STATE topic (`hostId`, default the identity).
   */
  readonly hosts?: readonly { readonly identity: string; readonly hostId?: string }[];
  /**
   * Edge nodes pinned to one group (and to their node id, which must be their certificate's identity). Without
   * any, one set of `pattern` lines lets every certificate publish as the edge node its identity names, in any
   * group.
   */
  readonly nodes?: readonly { readonly group: string; readonly node: string }[];
}

const NODE_WRITES = ["NBIRTH", "NDATA", "NDEATH"];
const DEVICE_WRITES = ["DBIRTH", "DDATA", "DDEATH"];

/**
 * A Mosquitto `acl_file` for Sparkplug B keyed on certificate identities (with `use_identity_as_username true`,
 * Mosquitto's `%u` is the client certificate's CN): an edge node publishes only births, data and deaths of the edge
 * node id its certificate names, and reads only its own commands and the hosts' STATE.
 *
 * @example
 * ```ts
 * const acl = mosquittoAcl({ hosts: [{ identity: "scada" }], nodes: [{ group: "Plant1", node: "line1-plc" }] });
 * await writeFile("/etc/mosquitto/sparkplug.acl", acl);
 * ```
 * @throws {SparkplugError} `SPARKPLUG_ID_INVALID` for an id that cannot be a topic level.
 */
export function mosquittoAcl(options: SparkplugAclOptions = {}): string {
  const lines = [
    "# Sparkplug B ACL: the edge node id is the client certificate's identity.",
    "# Needs `require_certificate true` and `use_identity_as_username true` on the TLS listener.",
    "",
  ];
  const nodes = options.nodes ?? [];
  if (nodes.length === 0) {
    lines.push("# Every edge node: its own births, data and deaths; its own commands; the hosts' STATE.");
    for (const type of NODE_WRITES) lines.push(`pattern write spBv1.0/+/${type}/%u`);
    for (const type of DEVICE_WRITES) lines.push(`pattern write spBv1.0/+/${type}/%u/+`);
    lines.push(
      "pattern read spBv1.0/+/NCMD/%u",
      "pattern read spBv1.0/+/DCMD/%u/+",
      "pattern read spBv1.0/STATE/+",
      "",
    );
  }
  for (const { group, node } of nodes) {
    assertSparkplugId("group id", group);
    assertSparkplugId("edge node id", node);
    lines.push(`# Edge node ${node} of group ${group}`, `user ${node}`);
    for (const type of NODE_WRITES) lines.push(`topic write spBv1.0/${group}/${type}/${node}`);
    for (const type of DEVICE_WRITES) lines.push(`topic write spBv1.0/${group}/${type}/${node}/+`);
    lines.push(
      `topic read spBv1.0/${group}/NCMD/${node}`,
      `topic read spBv1.0/${group}/DCMD/${node}/+`,
      "topic read spBv1.0/STATE/+",
      "",
    );
  }
  for (const { identity, hostId = identity } of options.hosts ?? []) {
    assertSparkplugId("host identity", identity);
    assertSparkplugId("host id", hostId);
    lines.push(
      `# Host application ${hostId}`,
      `user ${identity}`,
      "topic read spBv1.0/#",
      "topic write spBv1.0/+/NCMD/+",
      "topic write spBv1.0/+/DCMD/+/+",
      `topic readwrite spBv1.0/STATE/${hostId}`,
      "",
    );
  }
  return lines.join("\n");
}
