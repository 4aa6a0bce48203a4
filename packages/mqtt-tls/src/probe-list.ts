import { createFinding, type Finding } from "@proj/findings";
import { isLoadedConfig, loadConfig } from "@proj/security-config";
import type { BrokerKind } from "./broker-identity.js";
import type { CertificateSummary } from "./diagnose.js";
import { probe, type ProbeOptions, type ProbeResult } from "./probe.js";

/** One entry of a broker list, as {@link probeBrokerList} found it. */
export interface NodeProbe {
  /** The URL without credentials. */
  readonly url: string;
  readonly connected: boolean;
  /** Its diagnosis when it failed; what the profile says of its chain (and its QoS grant) when it connected. */
  readonly findings: Finding[];
  readonly elapsedMs: number;
  /** Where the broker can be told apart. */
  readonly brokerKind?: BrokerKind;
}

/** The result of {@link probeBrokerList}: {@link ProbeResult} of the first entry that connected, and every entry. */
export interface BrokerListProbe extends ProbeResult {
  readonly nodes: readonly NodeProbe[];
  /** The broker kind, where the entries that connected agree on one. */
  readonly brokerKind?: BrokerKind;
}

/**
 * {@link probe} for every entry of the broker list, in order (each within the deadline). The report's findings:
 * when an entry connected, each entry that cannot be reached is a `BROKER_NODE_DOWN` warning naming its own
 * diagnosis, and one that answers but fails (a certificate, a refusal: possibly not the broker it claims to be)
 * keeps its error, at its `broker.url[i]`; when none connected, each entry's diagnosis (the first entry's leads). With one URL it is {@link probe} with `nodes[]`.
 *
 * @example
 * ```ts
 * const loaded = await loadConfig({ broker: { url: ["mqtts://10.0.0.5:8883", "mqtts://10.0.0.6:8883"] }, security: { trustStore: ["ca.pem"] } });
 * const result = await probeBrokerList(loaded);
 * for (const node of result.nodes) console.log(node.url, node.connected ? "up" : node.findings[0]?.code);
 * ```
 */
export async function probeBrokerList(
  config: unknown,
  options: Omit<ProbeOptions, "urlIndex"> = {},
): Promise<BrokerListProbe> {
  const loaded = isLoadedConfig(config) ? config : await loadConfig(config as object | string, options);
  const count = Math.max(1, loaded.resolved?.urls.length ?? 0);
  // One after the other: the same clientId at two nodes of one cluster at once would take its own session over.
  const results: ProbeResult[] = [];
  for (let urlIndex = 0; urlIndex < count; urlIndex++)
    results.push(await probe(loaded, { identify: true, ...options, urlIndex }));
  const nodes = results.map((result): NodeProbe => ({
    url: result.url,
    connected: result.connected,
    findings: result.findings,
    elapsedMs: result.elapsedMs,
    ...(result.broker?.kind ? { brokerKind: result.broker.kind } : {}),
  }));
  const up = results.filter((r) => r.connected);
  const kinds = new Set(nodes.filter((n) => n.connected).map((n) => n.brokerKind));
  const brokerKind = kinds.size === 1 ? [...kinds][0] : undefined;
  const lead = up[0] ?? results[0]!;
  const findings =
    up.length === 0
      ? distinct(results.flatMap((r) => r.findings))
      : [
          ...results.flatMap((r, i) =>
            r.connected || !r.attempted
              ? []
              : UNREACHABLE.has(r.findings[0]?.code ?? "BROKER_UNREACHABLE")
                ? [nodeDown(r, i, up[0]!.url, count > 1)]
                : // A node that answers but fails TLS or MQTT (a certificate, a refusal) is an error of its own.
                  r.findings.map((f) => ({
                    ...f,
                    path: count > 1 ? `broker.url[${i}]` : (f.path ?? "broker.url"),
                  })),
          ),
          ...distinct(up.flatMap((r) => r.findings)),
        ];
  return {
    ...lead,
    attempted: results.some((r) => r.attempted),
    connected: up.length > 0,
    findings,
    elapsedMs: results.reduce((sum, r) => sum + r.elapsedMs, 0),
    nodes,
    ...(brokerKind ? { brokerKind } : {}),
  };
}

/** Diagnoses that only say a node is not there: while another works, that is a warning. */
const UNREACHABLE: ReadonlySet<string> = new Set(["BROKER_UNREACHABLE", "CONNECT_TIMEOUT"]);

/** Findings of several entries, each code and message once (two entries refused alike are one finding). */
function distinct(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.code}\n${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function nodeDown(result: ProbeResult, index: number, working: string, list: boolean): Finding {
  const cause = result.findings[0];
  return createFinding(
    "BROKER_NODE_DOWN",
    "warning",
    `${result.url} is down (${cause ? `${cause.code}: ${cause.message.replace(/\.$/, "")}` : "no connection"}); ${working} works, so clients carry on there.`,
    {
      path: list ? `broker.url[${index}]` : "broker.url",
      remedy: cause?.remedy ?? `Bring ${result.url} back, or take it out of the broker list.`,
    },
  );
}

/** The `connection` part of a doctor's answer (`mqtt-tls doctor --json`, the Node-RED doctor). */
export interface DoctorConnection {
  attempted: boolean;
  connected: boolean;
  tlsVersion?: string;
  cipher?: string;
  /** The broker's chain, leaf first, without the PEM. */
  serverChain?: Omit<CertificateSummary, "pem">[];
  elapsedMs: number;
  /** Which broker it is, where it can be told apart. */
  brokerKind?: BrokerKind;
  /** Every entry of the broker list, in order (when a connection was attempted). */
  nodes?: NodeProbe[];
}

/**
 * What a doctor reports of its live check, from {@link probeBrokerList}'s result: the one shape the CLI and the
 * Node-RED doctor answer with.
 *
 * @example
 * ```ts
 * const result = await probeBrokerList({ broker: { url: "mqtts://10.0.0.5:8883" }, security: { trustStore: ["ca.pem"] } });
 * console.log(JSON.stringify(doctorConnection(result)));
 * ```
 */
export function doctorConnection(result: BrokerListProbe): DoctorConnection {
  const tls = result.tlsInfo;
  return {
    attempted: result.attempted,
    connected: result.connected,
    ...(tls?.protocol ? { tlsVersion: tls.protocol } : {}),
    ...(tls?.cipher ? { cipher: tls.cipher } : {}),
    ...(tls && tls.peerChain.length > 0
      ? { serverChain: tls.peerChain.map(({ pem: _pem, ...summary }) => summary) }
      : {}),
    elapsedMs: result.elapsedMs,
    ...(result.brokerKind ? { brokerKind: result.brokerKind } : {}),
    ...(result.attempted ? { nodes: [...result.nodes] } : {}),
  };
}
