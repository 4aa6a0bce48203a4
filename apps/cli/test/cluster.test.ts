import { redisSkipReason, startRedis, type RedisServer } from "@proj/test-broker";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonDocument } from "./json-document.js";
import { runBin, startBin } from "./run-bin.js";

// `mqtt-tls broker --cluster`: dev-broker nodes sharing one Redis, each a process of its own that a test kills.
describe.skipIf(redisSkipReason())("mqtt-tls broker --cluster and fleet across a broker list", () => {
  let redis: RedisServer;
  let work: string;
  let pkiDir: string;
  beforeAll(async () => {
    redis = await startRedis();
    work = await mkdtemp(join(tmpdir(), "mqtt-tls-cli-cluster-"));
    pkiDir = join(work, "lab-pki");
    expect((await runBin(["pki", "init", "--dir", pkiDir], { cwd: work })).code).toBe(0);
    expect(
      (
        await runBin(
          ["pki", "issue", "server", "--dir", pkiDir, "--name", "localhost", "--ip", "127.0.0.1"],
          {
            cwd: work,
          },
        )
      ).code,
    ).toBe(0);
  });
  afterAll(async () => {
    await redis?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const node = () =>
    startBin(
      ["broker", "--pki", pkiDir, "--require-client-cert", "--cluster", redis.url, "--duration", "120"],
      {
        cwd: work,
      },
    );

  it("refuses --cluster without a shared PKI, and names a Redis that does not answer", async () => {
    const alone = await runBin(["broker", "--cluster", redis.url, "--duration", "1"], { cwd: work });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain("--cluster needs --pki");
    const nowhere = await runBin(
      ["broker", "--pki", pkiDir, "--cluster", "redis://127.0.0.1:1", "--duration", "1"],
      { cwd: work },
    );
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain("the cluster's Redis at redis://127.0.0.1:1 did not answer");
    expect(nowhere.stderr).toContain("redis-server --port 1 --bind 127.0.0.1");
  });

  it("carries a QoS 1 fleet through a node's loss: nothing lost, per-node counts, reconnect times", async () => {
    await using a = node();
    await using b = node();
    const [, urlA] = await a.waitFor(/listening on (mqtts:\/\/127\.0\.0\.1:\d+) \(cluster node/);
    const [, urlB] = await b.waitFor(/listening on (mqtts:\/\/127\.0\.0\.1:\d+) \(cluster node/);
    const config = join(work, "fleet-cluster.json");
    await writeFile(
      config,
      JSON.stringify({
        broker: { url: [urlA, urlB], connectTimeoutMs: 3000 },
        security: { trustStore: [join(pkiDir, "ca.crt")] },
      }),
    );
    await using fleet = startBin(
      ["fleet", "-c", config, "--pki", pkiDir, "--devices", "20", "--rate", "10", "--ramp", "1"].concat([
        "--duration",
        "4",
        "--qos",
        "1",
        "--json",
      ]),
      { cwd: work },
    );
    // Once every device is up (half on each node), node b dies in the middle of the stream.
    await fleet.waitFor(/20\/20/, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    b.child.kill("SIGKILL");
    const code = await fleet.exited;
    const output = fleet.output();
    // The whole report when the run failed: which device, which message.
    if (code !== 0) console.error(output);
    expect(code).toBe(0);
    const report = jsonDocument(output.slice(output.indexOf("{\n"))) as {
      fleet: {
        connected: number;
        messages: number;
        lost: number;
        received: number;
        nodes: { url: string; devicesAtStart: number; devicesAtEnd: number }[];
        reconnects: { count: number; p50: number; p99: number; stillDown: number };
      };
    };
    const { fleet: run } = report;
    expect(run.connected).toBe(20);
    expect(run.messages).toBe(20 * 10 * 4);
    expect(run).toMatchObject({ lost: 0, received: 800 });
    expect(run.nodes).toEqual([
      { url: urlA, devicesAtStart: 10, devicesAtEnd: 20 },
      { url: urlB, devicesAtStart: 10, devicesAtEnd: 0 },
    ]);
    expect(run.reconnects).toMatchObject({ stillDown: 0 });
    // The ten devices of b, and the monitor if it was there.
    expect(run.reconnects.count).toBeGreaterThanOrEqual(10);
    expect(run.reconnects.p99).toBeGreaterThan(0);
  });
});
