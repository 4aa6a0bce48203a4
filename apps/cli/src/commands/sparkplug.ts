import {
  isAdapterError,
  simulateEdgeNode,
  simulatedValue,
  sparkplugMetricsOf,
  type SimulatedTag,
} from "@proj/adapter-kit";
import { onlineState, pointsCsv, pointsFromBirths } from "@proj/adapter-geoscada";
import { createFinding, isFindingCode, renderFindings, type Finding, type FindingCode } from "@proj/findings";
import { isMqttTlsError } from "@proj/mqtt-tls";
import {
  decodePayload,
  isSparkplugError,
  jsonValue,
  mosquittoAcl,
  snapshotNode,
  startEdgeNode,
  startPrimaryHost,
  type EdgeNode,
  type EdgeNodeCommand,
  type HostEvent,
  type MetricValue,
} from "@proj/sparkplug";
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { requireConfig } from "../config-file.js";
import { DEVICES } from "../devices.js";
import { CliError } from "../errors.js";
import { withCliHints } from "../hints.js";
import { colorsFor, table, type CliIo, type Colors } from "../io.js";
import { loadConfigWithStore } from "../store.js";

/** The tags of an edge node simulated without a device adapter. */
const GENERIC_TAGS: readonly SimulatedTag[] = [
  { name: "heartbeat", kind: "counter" },
  { name: "level", kind: "analog", unit: "%", min: 0, max: 100 },
  { name: "running", kind: "boolean" },
];

/** Codes of the packages' errors that are not finding codes, as the finding that says the same. */
const AS_FINDING: Readonly<Record<string, FindingCode>> = {
  BDSEQ_STORE_FAILED: "SPARKPLUG_BDSEQ_NOT_STORED",
};

/** A failure as findings: coded errors of the packages keep their code, anything else is rethrown. */
function failureFindings(error: unknown): Finding[] {
  if (!isSparkplugError(error) && !isMqttTlsError(error) && !isAdapterError(error)) throw error;
  if (error.findings.length > 0) return [...error.findings];
  const code = isFindingCode(error.code) ? error.code : AS_FINDING[error.code];
  if (code === undefined) throw error;
  return [createFinding(code, "error", error.message, { remedy: error.remedy })];
}

/** A failure while running (a publish round): always a finding, so a long run reports it and goes on. */
function runningFailure(error: unknown): Finding[] {
  try {
    return failureFindings(error);
  } catch {
    return [createFinding("SPARKPLUG_PAYLOAD_INVALID", "error", (error as Error).message)];
  }
}

function fail(
  findings: Finding[],
  json: boolean | undefined,
  io: CliIo,
  c: Colors,
  extra: object = {},
): number {
  if (json) io.stdout(`${JSON.stringify({ ok: false, findings, ...extra }, null, 2)}\n`);
  else io.stderr(renderFindings(withCliHints(findings), c));
  return 1;
}

/** Resolves after `seconds` (never without), or on SIGINT / the signal: what ends a long-running command. */
function runFor(seconds: number | undefined, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = seconds === undefined ? undefined : setTimeout(finish, seconds * 1000);
    function finish() {
      clearTimeout(timer);
      process.off("SIGINT", finish);
      signal?.removeEventListener("abort", finish);
      done();
    }
    process.once("SIGINT", finish);
    signal?.addEventListener("abort", finish, { once: true });
  });
}

async function loadFor(config: string, io: CliIo) {
  return requireConfig(await loadConfigWithStore(resolve(io.cwd, config), { env: io.env }, io), config);
}

/** `--metrics-from`: a device adapter's simulator, by its id or `<family>-sim` (`nexto-sim`). */
function adapterFor(name: string) {
  const id = name.replace(/-sim$/, "");
  const adapter = DEVICES.list().find((a) => a.id === id || a.id.endsWith(`-${id}`));
  if (!adapter)
    throw new CliError(
      "UNKNOWN_DEVICE",
      `--metrics-from ${name}: there is no device simulator of that name`,
      {
        remedy: `Use one of: ${DEVICES.list()
          .map((a) => `${a.id.split("-").at(-1)}-sim`)
          .join(", ")}.`,
      },
    );
  return adapter;
}

export interface SparkplugEdgeOptions {
  config: string;
  group?: string;
  node?: string;
  device?: string[];
  metricsFrom?: string;
  primaryHost?: string;
  bdseqFile?: string;
  rate?: number;
  duration?: number;
  json?: boolean;
  color?: boolean;
}

/** `mqtt-tls sparkplug edge`: a simulated Sparkplug B edge node over mutual TLS. */
export async function sparkplugEdge(
  options: SparkplugEdgeOptions,
  io: CliIo,
  signal?: AbortSignal,
): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const loaded = await loadFor(options.config, io);
  const devices = options.device ?? [];
  const common = {
    ...(options.group !== undefined ? { group: options.group } : {}),
    ...(options.node !== undefined ? { node: options.node } : {}),
    ...(options.primaryHost !== undefined ? { primaryHost: options.primaryHost } : {}),
    ...(options.bdseqFile !== undefined ? { bdSeqFile: resolve(io.cwd, options.bdseqFile) } : {}),
  };
  const diagnoses: Finding[] = [];
  let edge: EdgeNode;
  let publishRound: () => Promise<number>;
  try {
    if (options.metricsFrom !== undefined) {
      const simulated = await simulateEdgeNode(adapterFor(options.metricsFrom), loaded, {
        ...common,
        devices,
      });
      edge = simulated.edge;
      publishRound = simulated.publishRound;
    } else {
      const metrics = sparkplugMetricsOf(GENERIC_TAGS);
      edge = await startEdgeNode(loaded, {
        ...common,
        ...(devices.length > 0 ? { devices: devices.map((id) => ({ id, metrics })) } : { metrics }),
      });
      let round = 0;
      publishRound = async () => {
        round++;
        const values: Record<string, MetricValue> = Object.fromEntries(
          GENERIC_TAGS.map((tag, i) => {
            const v = simulatedValue(tag, round, i);
            return [tag.name, tag.kind === "counter" ? BigInt(v) : v];
          }),
        );
        if (devices.length === 0) return edge.update(values);
        let n = 0;
        for (const device of devices) n += await edge.update(values, { device });
        return n;
      };
    }
  } catch (error) {
    return fail(failureFindings(error), options.json, io, c);
  }
  const commands: EdgeNodeCommand[] = [];
  edge.on("command", (command) => {
    commands.push(command);
    io.stderr(
      `${c.cyan("◆")} ${command.device ? `DCMD ${command.device}` : "NCMD"}: ${command.metrics.map((m) => `${m.name} = ${String(m.value)}`).join(", ")}\n`,
    );
  });
  edge.on("diagnosis", (finding) => {
    diagnoses.push(finding);
    io.stderr(renderFindings([finding], c));
  });
  edge.on("born", () => {
    io.stderr(`${c.green("✔")} births published: ${edge.group}/${edge.node}, bdSeq ${edge.stats.bdSeq}\n`);
  });
  io.stderr(
    `… edge node ${edge.group}/${edge.node} connected over ${edge.client.tlsInfo?.protocol ?? "TLS"}${edge.primaryHost ? `, waiting for primary host ${edge.primaryHost}` : ""}\n`,
  );
  if (edge.born)
    io.stderr(`${c.green("✔")} births published: ${edge.group}/${edge.node}, bdSeq ${edge.stats.bdSeq}\n`);
  const rate = options.rate ?? 1;
  const seen = new Set<string>();
  const roundFailed = (error: unknown) => {
    for (const finding of runningFailure(error)) {
      if (seen.has(finding.message)) continue; // once each: a round a second repeats the same failure
      seen.add(finding.message);
      diagnoses.push(finding);
      io.stderr(renderFindings([finding], c));
    }
  };
  const timer = setInterval(() => void publishRound().catch(roundFailed), 1000 / rate);
  await runFor(options.duration, signal);
  clearInterval(timer);
  await edge.stop();
  const stats = edge.stats;
  const published = {
    NBIRTH: stats.published.NBIRTH,
    NDATA: stats.published.NDATA,
    DBIRTH: stats.published.DBIRTH,
    DDATA: stats.published.DDATA,
  };
  // A run with an error (a connection refused for good, a round that could not be published) is a failed run.
  const ok = !diagnoses.some((f) => f.severity === "error");
  if (options.json) {
    io.stdout(
      `${JSON.stringify(
        {
          ok,
          findings: diagnoses,
          bdSeq: stats.bdSeq ?? 0,
          published,
          rebirths: stats.rebirths,
          commands: commands.map((cmd) => ({
            ...cmd,
            metrics: cmd.metrics.map((m) => ({ ...m, value: jsonValue(m.value) })),
          })),
        },
        null,
        2,
      )}\n`,
    );
  } else {
    io.stdout(
      table(
        [
          ["edge node", `${edge.group}/${edge.node}`],
          ["bdSeq", String(stats.bdSeq ?? 0)],
          [
            "published",
            Object.entries(published)
              .map(([k, v]) => `${k} ${v}`)
              .join(", "),
          ],
          ["rebirths", String(stats.rebirths)],
          ["commands", String(commands.length)],
        ],
        c,
      ),
    );
  }
  return ok ? 0 : 1;
}

export interface SparkplugHostOptions {
  config: string;
  hostId?: string;
  duration?: number;
  reorderTimeout?: number;
  pointsCsv?: string;
  json?: boolean;
  color?: boolean;
}

const eventLine = (event: HostEvent): string =>
  `${event.type} ${event.group}/${event.node}${"device" in event ? `/${event.device}` : ""}${
    event.type === "SEQ_GAP"
      ? ` (expected ${event.expected}, got ${event.received})`
      : event.type === "REBIRTH_REQUESTED"
        ? ` (${event.reason})`
        : ""
  }`;

/** `mqtt-tls sparkplug host`: a Sparkplug B primary host application; prints what it learned at the end. */
export async function sparkplugHost(
  options: SparkplugHostOptions,
  io: CliIo,
  signal?: AbortSignal,
): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const loaded = await loadFor(options.config, io);
  const diagnoses: Finding[] = [];
  let host;
  try {
    host = await startPrimaryHost(loaded, {
      ...(options.hostId !== undefined ? { hostId: options.hostId } : {}),
      ...(options.reorderTimeout !== undefined ? { reorderTimeoutMs: options.reorderTimeout } : {}),
    });
  } catch (error) {
    return fail(failureFindings(error), options.json, io, c, { nodes: [], events: [] });
  }
  io.stderr(
    `… primary host ${host.hostId} online over ${host.client.tlsInfo?.protocol ?? "TLS"} (STATE published)\n`,
  );
  host.on("event", (event) => {
    if (!options.json)
      io.stderr(
        `${event.type.includes("DEATH") || event.type === "SEQ_GAP" ? c.yellow("▲") : c.green("●")} ${eventLine(event)}\n`,
      );
  });
  host.on("diagnosis", (finding) => {
    diagnoses.push(finding);
    io.stderr(renderFindings([finding], c));
  });
  await runFor(options.duration, signal);
  await host.stop();
  const nodes = [...host.nodes.values()].map(snapshotNode);
  if (options.pointsCsv !== undefined) {
    const file = resolve(io.cwd, options.pointsCsv);
    await writeFile(file, pointsCsv(pointsFromBirths(nodes).points));
    io.stderr(`${c.green("✔")} Geo SCADA points from the births written to ${options.pointsCsv}\n`);
  }
  // Findings of error severity (payloads that could not be read, writes refused) make the run a failed check.
  const ok = !diagnoses.some((f) => f.severity === "error");
  if (options.json) {
    io.stdout(`${JSON.stringify({ ok, findings: diagnoses, nodes, events: host.events }, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  for (const node of nodes) {
    io.stdout(`${c.bold(`${node.group}/${node.node}`)}  ${onlineState(node)}  bdSeq ${node.bdSeq ?? "-"}\n`);
    io.stdout(
      table(
        node.metrics.map((m) => [m.name, `${m.datatype} ${String(m.value)}${m.stale ? " (stale)" : ""}`]),
        c,
        "    ",
      ),
    );
    for (const device of node.devices) {
      io.stdout(`  ${c.bold(device.device)}  ${onlineState(device)}\n`);
      io.stdout(
        table(
          device.metrics.map((m) => [m.name, `${m.datatype} ${String(m.value)}${m.stale ? " (stale)" : ""}`]),
          c,
          "    ",
        ),
      );
    }
  }
  const errors = host.events.filter((e) => e.type === "SEQ_GAP");
  if (errors.length > 0) io.stdout(`${errors.length} sequence number error event(s)\n`);
  if (nodes.length === 0) io.stdout("no edge node was seen\n");
  return ok ? 0 : 1;
}

export interface SparkplugDecodeOptions {
  hex?: boolean;
  json?: boolean;
  color?: boolean;
}

async function readInput(file: string | undefined, io: CliIo, stdin: NodeJS.ReadableStream): Promise<Buffer> {
  if (file !== undefined && file !== "-") {
    try {
      return await readFile(resolve(io.cwd, file));
    } catch (error) {
      throw new CliError(
        "USAGE",
        `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
        { cause: error },
      );
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** A timestamp as ISO 8601 where a date can hold it, else the number of milliseconds as it came. */
function readableTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `${ms} ms (beyond any date)` : date.toISOString();
}

/** `mqtt-tls sparkplug decode`: one payload (binary, or hex with --hex) as JSON or text. */
export async function sparkplugDecode(
  file: string | undefined,
  options: SparkplugDecodeOptions,
  io: CliIo,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  const c = colorsFor(io, options.color === false);
  let bytes = await readInput(file, io, stdin);
  if (options.hex) {
    const text = bytes.toString("utf8").replace(/\s+/g, "").replace(/^0x/i, "");
    if (!/^([0-9a-fA-F]{2})*$/.test(text))
      throw new CliError("USAGE", "--hex: the input is not an even number of hexadecimal digits");
    bytes = Buffer.from(text, "hex");
  }
  let payload;
  try {
    payload = decodePayload(bytes);
  } catch (error) {
    return fail(failureFindings(error), options.json, io, c);
  }
  if (options.json) {
    io.stdout(`${JSON.stringify({ ok: true, findings: [], payload: jsonValue(payload) }, null, 2)}\n`);
    return 0;
  }
  const head = [
    ["timestamp", payload.timestamp === undefined ? "-" : readableTime(payload.timestamp)],
    ["seq", payload.seq === undefined ? "-" : String(payload.seq)],
    ["metrics", String(payload.metrics.length)],
  ] as const;
  io.stdout(table(head, c));
  for (const m of payload.metrics)
    io.stdout(
      `  ${m.name ?? `alias ${m.alias}`}${m.name !== undefined && m.alias !== undefined ? ` (alias ${m.alias})` : ""}: ${m.datatype ?? "?"} ${JSON.stringify(jsonValue(m.value ?? null))}${m.isHistorical ? " historical" : ""}\n`,
    );
  return 0;
}

export interface SparkplugAclOptions {
  host?: string[];
  node?: string[];
}

/** `mqtt-tls sparkplug acl`: a Mosquitto ACL keyed on certificate identities. */
export function sparkplugAcl(options: SparkplugAclOptions, io: CliIo): number {
  const nodes = (options.node ?? []).map((value) => {
    const [group, node, ...rest] = value.split("/");
    if (!group || !node || rest.length > 0)
      throw new CliError("USAGE", `--node ${value}: give it as GROUP/NODE, e.g. Plant1/line1-plc`);
    return { group, node };
  });
  const hosts = (options.host ?? []).map((value) => {
    const [identity, hostId] = value.split("=");
    return { identity: identity!, ...(hostId ? { hostId } : {}) };
  });
  try {
    io.stdout(mosquittoAcl({ hosts, nodes }));
  } catch (error) {
    if (isSparkplugError(error)) throw new CliError("USAGE", error.message, { cause: error });
    throw error;
  }
  return 0;
}
