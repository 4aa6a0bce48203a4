import type { NodeStatus } from "./red.js";

/** The longest cause a node status shows after the code: the editor draws status text on one line under the node. */
const CAUSE_CHARS = 60;

/**
 * The status a node shows for a finding: its code and the first sentence of its message, shortened to one line,
 * so the flow says why ("SERVER_CERT_UNTRUSTED: the broker's certificate was issued by…"), never only "failed".
 *
 * @example
 * ```ts
 * statusOf({ code: "SERVER_CERT_UNTRUSTED", message: "The broker's certificate is not trusted. Put its CA..." });
 * // { fill: "red", shape: "ring", text: "SERVER_CERT_UNTRUSTED: The broker's certificate is not trusted" }
 * ```
 */
export function statusOf(finding: { readonly code: string; readonly message: string }): NodeStatus {
  const sentence = finding.message.split(/(?<=[.:;])\s/)[0] ?? finding.message;
  const cause = sentence.replace(/[.:;]$/, "");
  const short = cause.length > CAUSE_CHARS ? `${cause.slice(0, CAUSE_CHARS - 1).trimEnd()}…` : cause;
  return { fill: "red", shape: "ring", text: `${finding.code}: ${short}` };
}

/** The status of a node whose broker is connected. */
export function connectedStatus(tlsVersion: string | undefined): NodeStatus {
  return { fill: "green", shape: "dot", text: `connected${tlsVersion ? `, ${tlsVersion}` : ", no TLS"}` };
}

/** The status of a node whose broker is being connected. */
export const CONNECTING: NodeStatus = { fill: "yellow", shape: "ring", text: "connecting" };
