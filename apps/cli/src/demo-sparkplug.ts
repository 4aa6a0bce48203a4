import { simulateEdgeNode } from "@proj/adapter-kit";
import { onlineState, pointsFromBirths } from "@proj/adapter-geoscada";
import { nexto } from "@proj/adapter-nexto";
import { snapshotNode, startPrimaryHost } from "@proj/sparkplug";
import type { Colors } from "./io.js";

/** What the demo's Sparkplug step showed. */
export interface SparkplugDemo {
  /** The host learned the PLC's birth, took its data and a command reached the PLC, and the death was seen. */
  ok: boolean;
  /** The points Geo SCADA's "Create Points from Birth Metrics" would make. */
  points: number;
  /** The Online State of the PLC at the end, in Geo SCADA's words. */
  onlineState: string;
}

const until = async (check: () => boolean, timeoutMs = 5000): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return check();
};

/**
 * The demo's Sparkplug step: the SCADA server as primary host (STATE), the simulated Nexto PLC as an edge node
 * waiting for it, its births learned as Geo SCADA points, data, a write back, a rebirth request, and its death.
 */
export async function sparkplugStep(
  plcConfig: object,
  scadaConfig: object,
  line: (text: string) => void,
  c: Colors,
): Promise<SparkplugDemo> {
  await using host = await startPrimaryHost(scadaConfig, { hostId: "scada-server" });
  host.on("event", (event) =>
    line(
      `${c.cyan("SCADA")} ${event.type} ${event.group}/${event.node}${"bdSeq" in event ? ` (bdSeq ${event.bdSeq})` : ""}`,
    ),
  );
  line(`SCADA host scada-server: STATE online, subscribed to spBv1.0/#`);
  await using plc = await simulateEdgeNode(nexto, plcConfig, {
    group: "Plant1",
    node: "line1-nx3004",
    primaryHost: "scada-server",
  });
  const written: string[] = [];
  plc.edge.on("command", (command) => {
    for (const m of command.metrics) written.push(`${m.name} = ${String(m.value)}`);
  });
  line(
    `PLC line1-nx3004: ${plc.edge.client.tlsInfo?.protocol}, MQTT 3.1.1, Will = NDEATH (bdSeq ${plc.edge.stats.bdSeq}), births after the host's STATE`,
  );
  const learned = await until(() => host.nodes.get("Plant1/line1-nx3004")?.online === true);
  const node = () => snapshotNode(host.nodes.get("Plant1/line1-nx3004")!);
  const { points } = pointsFromBirths(learned ? [node()] : []);
  line(`Geo SCADA "Create Points from Birth Metrics" would make ${points.length} points:`);
  for (const p of points)
    line(`  ${p.metric.padEnd(24)} ${p.datatype.padEnd(8)} ${p.kind}${p.units ? ` (${p.units})` : ""}`);
  const tank = () => host.nodes.get("Plant1/line1-nx3004")?.metrics.byName.get("line1/tank-level");
  const atBirth = tank()?.value;
  await plc.publishRound();
  await plc.publishRound();
  const tookData = await until(() => tank() !== undefined && tank()!.value !== atBirth);
  line(
    `SCADA line1/tank-level ${String(atBirth)} → ${Number(tank()?.value).toFixed(2)} % (a Float: NDATA by alias, report by exception)`,
  );
  let commanded = false;
  if (learned) {
    await host.write({ group: "Plant1", node: "line1-nx3004" }, { "line1/pump1/running": true });
    commanded = await until(() => written.length > 0);
    line(`PLC received NCMD: ${written.join(", ")}`);
    await host.requestRebirth("Plant1", "line1-nx3004");
    await until(() => plc.edge.stats.rebirths > 0);
  }
  await plc.stop();
  const died = await until(() => host.nodes.get("Plant1/line1-nx3004")?.online === false);
  const state = learned ? onlineState(node()) : "False, no NBIRTH received";
  line(`Online State: ${state}`);
  return {
    ok: learned && tookData && commanded && died && points.length > 0,
    points: points.length,
    onlineState: state,
  };
}
