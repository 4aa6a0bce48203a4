// Failover bench: N devices (1,000 by default), each with its own client certificate, on a two-node dev-broker
// cluster (aedes on Redis, each node a process of its own), publishing QoS 1; half way through, the node half of
// them are on is killed (SIGKILL). Reported: the time until every device is connected again (from the first drop),
// reconnect percentiles, and the QoS 1 messages lost (acknowledged by a node, never received by the monitor
// subscriber). The time is set against the same fleet's cold connect of the same run.
import { findRedis, startClusterNode, startRedis } from "@proj/test-broker";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initLabPki, issueLabLeaf } from "@proj/pki";
import { fleetCertificates, runFleet } from "../src/fleet.js";

const DEVICES = Number(process.env.FLEET_DEVICES ?? 1000);

if (!findRedis()) {
  console.log("failover bench: skipped, no redis-server binary (apt-get install -y redis-server)");
  process.exit(0);
}
const work = await mkdtemp(join(tmpdir(), "failover-bench-"));
try {
  const labDir = join(work, "lab");
  const lab = await initLabPki({ dir: labDir });
  await issueLabLeaf({ dir: labDir, role: "server", name: "localhost", ip: ["127.0.0.1"] });
  process.stderr.write(`… issuing ${DEVICES} device certificates\n`);
  await fleetCertificates(labDir, DEVICES);
  const read = (name: string) => readFile(join(labDir, name), "utf8");
  const pki = {
    server: { chain: await read("localhost-chain.crt"), key: await read("localhost.key") },
    root: { cert: await read("ca.crt") },
    intermediate: { cert: await read("intermediate-ca.crt") },
  };
  await using redis = await startRedis();
  // Each node must take the whole fleet when the other is gone (the dev broker's default is 1,000 connections).
  const node = () =>
    startClusterNode({ redis: redis.url, pki, requireClientCert: true, maxConnections: DEVICES + 100 });
  await using a = await node();
  await using b = await node();
  const report = await runFleet({
    config: {
      broker: { url: [a.url, b.url], connectTimeoutMs: 10_000 },
      security: { trustStore: [lab.caFile] },
    },
    baseDir: "/",
    pkiDir: labDir,
    devices: DEVICES,
    rate: 1,
    rampSeconds: 0,
    durationSeconds: 12,
    qos: 1,
    midway: () => b.kill(),
  });
  const [nodeA, nodeB] = report.nodes;
  const ratio = report.reconnects.allBackMs / report.connectAllMs;
  console.log(
    `failover: ${DEVICES} devices, each with its own certificate, mutual TLS, QoS 1 at 1/s; two dev-broker nodes on Redis, one killed (SIGKILL) half way`,
  );
  console.log(
    `  cold connect      ${report.connected} devices in ${report.connectAllMs.toFixed(0)} ms (${nodeA?.devicesAtStart} on node a, ${nodeB?.devicesAtStart} on node b)`,
  );
  console.log(
    `  node b killed     ${report.reconnects.count} reconnections, all back ${report.reconnects.allBackMs.toFixed(0)} ms after the first drop; per device p50 ${report.reconnects.p50.toFixed(0)} ms, p99 ${report.reconnects.p99.toFixed(0)} ms, max ${report.reconnects.max.toFixed(0)} ms; ${report.reconnects.stillDown} still down; ${nodeA?.devicesAtEnd} on node a at the end`,
  );
  console.log(
    `  messages          ${report.messages} acknowledged, ${report.received ?? "?"} received by the monitor, ${report.lost ?? "?"} lost (goal 0)`,
  );
  console.log(
    `::bench ${JSON.stringify({ name: `failover all-back time vs cold connect (${DEVICES} devices)`, ratio, goal: "report" })}`,
  );
  console.log(
    `::bench ${JSON.stringify({ name: "failover QoS 1 messages lost", ratio: report.lost ?? Number.NaN, goal: "<= 0" })}`,
  );
  if (report.lost !== 0 || report.reconnects.stillDown > 0) process.exitCode = 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
