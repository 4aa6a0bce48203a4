import { dirname, resolve } from "node:path";
import { loadConfig } from "@proj/security-config";
import { renderFindings } from "@proj/findings";
import { requireConfig } from "../config-file.js";
import { withCliHints } from "../hints.js";
import { runFleet, type FleetOptions, type FleetReport } from "../fleet.js";
import { colorsFor, table, type CliIo } from "../io.js";

export interface FleetCommandOptions {
  config: string;
  pki: string;
  devices: number;
  rate: number;
  ramp?: number;
  duration?: number;
  qos?: number;
  reconnect?: boolean;
  json?: boolean;
  color?: boolean;
}

function bar(done: number, total: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`;
}

/** `mqtt-tls fleet`: a fleet of simulated devices, each with its own certificate, and what it measured. */
export async function fleet(options: FleetCommandOptions, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const path = resolve(io.cwd, options.config);
  const loaded = requireConfig(await loadConfig(path, { env: io.env }), options.config);
  // Each device gets its own key store; any other error of the configuration stops every device alike.
  const shared = loaded.findings.filter(
    (f) =>
      f.severity === "error" && !f.path?.startsWith("security.keyStore") && f.code !== "KEY_STORE_MISSING",
  );
  if (shared.length > 0) {
    io.stderr(renderFindings(withCliHints(loaded.findings.filter((f) => f.severity === "error")), c));
    return 1;
  }
  const config = loaded.input as FleetOptions["config"];
  io.stderr(`… issuing or reusing ${options.devices} device certificates in ${options.pki}/fleet\n`);
  let lastShown = -1;
  const report: FleetReport = await runFleet({
    config,
    baseDir: dirname(path),
    pkiDir: resolve(io.cwd, options.pki),
    devices: options.devices,
    rate: options.rate,
    rampSeconds: options.ramp ?? Math.max(1, options.devices / 200),
    durationSeconds: options.duration ?? 10,
    qos: options.qos === 1 ? 1 : 0,
    reconnect: options.reconnect === true,
    onProgress: (done, total) => {
      const step = Math.floor((done / total) * 10);
      if (io.isTty) io.stderr(`\r${bar(done, total)} connected or failed`);
      else if (step !== lastShown) io.stderr(`${bar(done, total)}\n`);
      lastShown = step;
      if (io.isTty && done === total) io.stderr("\n");
    },
  });
  for (const message of report.lostMessages ?? []) io.stderr(`lost: ${message}\n`);
  // A QoS 1 message acknowledged and never delivered is a failure of the run, as a device that never connected is.
  const failed =
    Object.values(report.failures).reduce((a, b) => a + b, 0) +
    (options.qos === 1 && report.lost !== undefined ? report.lost : 0);
  if (options.json) {
    io.stdout(`${JSON.stringify({ ok: failed === 0, findings: [], fleet: report }, null, 2)}\n`);
    return failed === 0 ? 0 : 1;
  }
  io.stdout(
    `${c.bold("Fleet")} ${report.connected}/${report.devices} devices connected\n${table(
      [
        ["configs checked", `${report.devices} in ${report.validateMs} ms, before the first connection`],
        [
          "connect p50/p90/p99",
          `${report.connectMs.p50} / ${report.connectMs.p90} / ${report.connectMs.p99} ms (max ${report.connectMs.max})`,
        ],
        ["connect all", `${report.connectAllMs} ms, ${report.handshakesPerSecond} handshakes/s`],
        ...(report.reconnectAllMs !== undefined
          ? ([["reconnect all", `${report.reconnectAllMs} ms after dropping every connection`]] as [
              string,
              string,
            ][])
          : []),
        ...(report.reconnects.count > 0 || report.reconnects.stillDown > 0
          ? ([
              [
                "reconnect p50/p99",
                `${report.reconnects.p50} / ${report.reconnects.p99} ms (max ${report.reconnects.max}) over ${report.reconnects.count} reconnections; all back ${report.reconnects.allBackMs} ms after the first drop${report.reconnects.stillDown > 0 ? `; ${report.reconnects.stillDown} still down` : ""}`,
              ],
            ] as [string, string][])
          : []),
        ...(report.nodes.length > 1
          ? report.nodes.map((node): [string, string] => [
              `  ${node.url}`,
              `${node.devicesAtStart} devices after the ramp, ${node.devicesAtEnd} at the end`,
            ])
          : []),
        ["session reuse", `${report.sessionReuse.resumed}/${report.sessionReuse.total} resumed`],
        [
          "messages",
          `${report.messages} (${report.messagesPerSecond}/s)${report.lost !== undefined ? `, ${report.received} received by the monitor, ${report.lost} lost` : report.monitorError !== undefined ? `; not counted at the receiving end: ${report.monitorError}` : ""}`,
        ],
        ["memory", `${report.memoryPerConnectionKiB} KiB per connection (RSS)`],
        [
          "failures",
          failed === 0
            ? "none"
            : [
                ...Object.entries(report.failures).map(([code, n]) => `${code} ×${n}`),
                ...(options.qos === 1 && report.lost ? [`${report.lost} acknowledged messages lost`] : []),
              ].join(", "),
        ],
      ],
      c,
    )}\n`,
  );
  return failed === 0 ? 0 : 1;
}
