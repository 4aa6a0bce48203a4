import { deviceRules, loadedAsDevice } from "@proj/adapter-kit";
import {
  createFinding,
  hasErrors,
  mergeLiveFindings,
  orderFindings,
  type Finding,
  type FindingCode,
} from "@proj/findings";
import { doctorConnection, probeBrokerList } from "@proj/mqtt-tls";
import { loadConfig, withRules, type LoadedConfig } from "@proj/security-config";
import { configFromBrokerNode, type BrokerCredentials, type BuiltConfig } from "./broker-config.js";
import { readCoreBroker, type CoreBrokerCredentials, type CoreTlsCredentials } from "./core-nodes.js";
import { NODE_RED_DEVICES } from "./devices.js";
import type { DoctorAnswer, NodeDefinition } from "./red.js";

/** What the doctor looks at: an mqtt-tls-broker node, or a core mqtt-broker node with its tls-config node. */
export type DoctorTarget =
  | { kind: "mqtt-tls-broker"; config: unknown; credentials: BrokerCredentials }
  | {
      kind: "mqtt-broker";
      broker: NodeDefinition;
      tls: NodeDefinition | undefined;
      brokerCredentials: CoreBrokerCredentials;
      tlsCredentials: CoreTlsCredentials;
    };

/** Options of {@link diagnoseBroker}. */
export interface DiagnoseOptions {
  /** Where an mqtt-tls-broker node's relative paths start: Node-RED's user folder. @default the current directory */
  baseDir?: string;
  /** Only the static checks, no connection. @default false */
  offline?: boolean;
  /** Deadline of the live check. @default the configuration's connectTimeoutMs, at most 10 s */
  timeoutMs?: number;
}

/** A configuration finding that follows from a Node-RED trap names the trap as its cause. */
const FOLLOWS_FROM: Partial<Record<FindingCode, readonly FindingCode[]>> = {
  SERVER_CERT_CHECK_DISABLED: ["NODE_RED_MQTTS_WITHOUT_TLS", "NODE_RED_VERIFY_OFF"],
  TRUST_STORE_MISSING: ["NODE_RED_CA_UNREADABLE_FALLBACK", "NODE_RED_UPLOAD_NOT_PEM"],
  CLIENT_CERT_DISABLED: ["NODE_RED_UPLOAD_NOT_PEM", "FILE_NOT_FOUND"],
};

/** Which store a finding is about: an upload that failed there explains what follows about that store. */
function storeOf(finding: Finding): "trust" | "key" | undefined {
  if (finding.path?.startsWith("security.trustStore") || finding.path === "tls-config.cadata") return "trust";
  if (
    finding.path?.startsWith("security.keyStore") ||
    /^tls-config\.(cert|key)data$/.test(finding.path ?? "")
  )
    return "key";
  if (/^(TRUST_STORE_|SERVER_CERT_UNTRUSTED)/.test(finding.code)) return "trust";
  if (/^(KEY_STORE_|CLIENT_CERT_)/.test(finding.code)) return "key";
  return undefined;
}

function linkCauses(traps: readonly Finding[], findings: readonly Finding[]): Finding[] {
  const errors = traps.filter((t) => t.severity === "error");
  return findings.map((f) => {
    if (f.causedBy !== undefined) return f;
    const cause =
      FOLLOWS_FROM[f.code]?.find((code) => errors.some((t) => t.code === code)) ??
      errors.find((t) => t.code !== f.code && storeOf(t) !== undefined && storeOf(t) === storeOf(f))?.code;
    return cause ? { ...f, causedBy: cause } : f;
  });
}

/**
 * The doctor of a Node-RED broker node: the traps of the node itself, the configuration's findings (profile and
 * device), then a live TLS + MQTT connect with its diagnosis, in one report that leads with the cause: the same
 * `{ ok, findings, connection }` as `mqtt-tls doctor --json`.
 *
 * @example
 * ```ts
 * const answer = await diagnoseBroker({
 *   kind: "mqtt-tls-broker",
 *   config: { broker: { url: "mqtts://broker.local:8883" }, security: { trustStore: ["upload:ca.der"] } },
 *   credentials: { trustStore: (await readFile("ca.der")).toString("base64") },
 * });
 * if (!answer.ok) console.log(answer.findings[0]?.code);
 * ```
 */
export async function diagnoseBroker(
  target: DoctorTarget,
  options: DiagnoseOptions = {},
): Promise<DoctorAnswer> {
  const baseDir = options.baseDir ?? process.cwd();
  const built: BuiltConfig =
    target.kind === "mqtt-tls-broker"
      ? configFromBrokerNode(target.config, target.credentials)
      : // The core tls-config node reads its paths with fs.readFileSync: from Node-RED's working folder.
        await readCoreBroker(target.broker, target.tls, target.brokerCredentials, target.tlsCredentials);

  const { loaded, findings: deviceFindings } = await loadForNode(built.config, baseDir);
  let findings = orderFindings([
    ...built.findings,
    ...deviceFindings,
    ...linkCauses(built.findings, loaded.findings),
  ]);
  let connection: DoctorAnswer["connection"];
  if (!options.offline && loaded.resolved) {
    const deviceId = built.config.device;
    const adapter = typeof deviceId === "string" ? NODE_RED_DEVICES.get(deviceId) : undefined;
    const timeoutMs = Math.min(options.timeoutMs ?? loaded.resolved.config.broker.connectTimeoutMs, 10_000);
    const result = await probeBrokerList(adapter ? loadedAsDevice(adapter, loaded).loaded : loaded, {
      timeoutMs,
    });
    findings = mergeLiveFindings(findings, linkCauses(built.findings, result.findings));
    connection = doctorConnection(result);
  }
  const ok = !hasErrors(findings) && (options.offline === true || connection?.connected === true);
  return { ok, findings, ...(connection ? { connection } : {}) };
}

/**
 * Loads a broker node's configuration the one way the doctor and the connection both use: paths from Node-RED's
 * user folder, and the rules of the device the node names (an unknown device is a finding).
 */
export async function loadForNode(
  config: Record<string, unknown>,
  baseDir: string,
): Promise<{ loaded: LoadedConfig; findings: Finding[] }> {
  const loaded = await loadConfig(config, { baseDir });
  const deviceId = config.device;
  if (deviceId === undefined || deviceId === "") return { loaded, findings: [] };
  const adapter = typeof deviceId === "string" ? NODE_RED_DEVICES.get(deviceId) : undefined;
  if (!adapter)
    return {
      loaded,
      findings: [
        createFinding("FIELD_INVALID", "error", `There is no device "${String(deviceId)}".`, {
          path: "device",
          remedy: `Choose one of: ${NODE_RED_DEVICES.list()
            .map((a) => a.id)
            .join(", ")}.`,
        }),
      ],
    };
  return { loaded: withRules(loaded, deviceRules(adapter)), findings: [] };
}
