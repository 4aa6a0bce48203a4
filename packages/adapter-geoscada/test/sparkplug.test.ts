// Geo SCADA Expert's view of a Sparkplug system: a simulated Altus Nexto PLC as an edge node (TLS 1.2, MQTT 3.1.1,
// RSA, as the PLC speaks) and a primary host, over mutual TLS on Mosquitto (the embedded broker where it is missing).
import { simulateEdgeNode } from "@proj/adapter-kit";
import { nexto } from "@proj/adapter-nexto";
import { encodePayload, snapshotNode, startPrimaryHost, type PrimaryHost } from "@proj/sparkplug";
import {
  createTestPki,
  mosquittoSkipReason,
  startMosquitto,
  startTestBroker,
  type TestPki,
} from "@proj/test-broker";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { geoScadaEvents, onlineState, pointsCsv, pointsFromBirths } from "../src/index.js";

let pki: TestPki;
let broker: { url: string; close(): Promise<void> };
const config = async (name: string) => {
  const leaf = await pki.issueClient({ name });
  return {
    broker: { url: broker.url, clientId: name },
    security: {
      trustStore: [pki.caFile],
      sendClientCertificate: true,
      keyStore: { certificate: leaf.files.chain, privateKey: leaf.files.key },
    },
  };
};

beforeAll(async () => {
  pki = await createTestPki({ name: "geoscada-sparkplug", keyType: "rsa2048", intermediate: true });
  broker = mosquittoSkipReason()
    ? await startTestBroker({ pki, requireClientCert: true })
    : await startMosquitto({ pki, requireCertificate: true });
});
afterAll(async () => {
  await broker?.close();
  await pki?.cleanup();
});

describe("Geo SCADA Expert's view of a Nexto PLC over Sparkplug B", () => {
  let host: PrimaryHost;
  beforeAll(async () => {
    host = await startPrimaryHost(await config("geoscada"), { hostId: "geoscada", reorderTimeoutMs: 300 });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it("lists the points Create Points from Birth Metrics makes, with types and units, as JSON and CSV", async () => {
    await using plc = await simulateEdgeNode(nexto, await config("line1-nx3004"), {
      group: "Plant1",
      node: "line1-nx3004",
    });
    expect(plc.behaviour).toMatchObject({ tlsVersions: ["TLSv1.2"], protocolVersion: 4 });
    expect(plc.edge.client.tlsInfo?.protocol).toBe("TLSv1.2");
    await expect.poll(() => host.nodes.get("Plant1/line1-nx3004")?.online).toBe(true);
    const { points, skipped } = pointsFromBirths([snapshotNode(host.nodes.get("Plant1/line1-nx3004")!)]);
    expect(points).toEqual([
      {
        group: "Plant1",
        node: "line1-nx3004",
        metric: "line1/tank-level",
        datatype: "Float",
        kind: "analog",
        units: "%",
      },
      {
        group: "Plant1",
        node: "line1-nx3004",
        metric: "line1/flow",
        datatype: "Float",
        kind: "analog",
        units: "m3/h",
      },
      {
        group: "Plant1",
        node: "line1-nx3004",
        metric: "line1/pump1/running",
        datatype: "Boolean",
        kind: "digital",
      },
      {
        group: "Plant1",
        node: "line1-nx3004",
        metric: "line1/production-count",
        datatype: "UInt64",
        kind: "analog",
      },
    ]);
    expect(skipped).toEqual([
      expect.objectContaining({
        metric: "Node Control/Rebirth",
        reason: expect.stringContaining("control metric"),
      }),
    ]);
    expect(pointsCsv(points).split("\r\n")).toEqual([
      "group,node,device,metric,datatype,kind,units",
      "Plant1,line1-nx3004,,line1/tank-level,Float,analog,%",
      "Plant1,line1-nx3004,,line1/flow,Float,analog,m3/h",
      "Plant1,line1-nx3004,,line1/pump1/running,Boolean,digital,",
      "Plant1,line1-nx3004,,line1/production-count,UInt64,analog,",
      "",
    ]);
    // The PLC's rounds arrive as DATA and keep the host's values current.
    expect(await plc.publishRound()).toBeGreaterThan(0);
    await expect
      .poll(() => host.nodes.get("Plant1/line1-nx3004")?.metrics.byName.get("line1/production-count")?.value)
      .toBe(1n);
  });

  it("shows the Online State as Geo SCADA words it, and sequence errors as events", async () => {
    const plc = await simulateEdgeNode(nexto, await config("line2-nx3004"), {
      group: "Plant1",
      node: "line2-nx3004",
      devices: ["tank2"],
    });
    await expect.poll(() => host.nodes.get("Plant1/line2-nx3004")?.devices.get("tank2")?.online).toBe(true);
    const node = () => snapshotNode(host.nodes.get("Plant1/line2-nx3004")!);
    expect(onlineState(node())).toMatch(/^True, NBIRTH received \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    expect(onlineState(node().devices[0]!)).toMatch(/^True, DBIRTH received /);
    expect(pointsFromBirths([node()]).points.map((p) => [p.device, p.metric])).toContainEqual([
      "tank2",
      "line1/flow",
    ]);
    await plc.stop();
    await expect.poll(() => host.nodes.get("Plant1/line2-nx3004")?.online).toBe(false);
    expect(onlineState(node())).toMatch(/^False, NDEATH received /);
    expect(onlineState({ online: false })).toBe("False, no NBIRTH received");

    // A node that skips a sequence number: Geo SCADA's "Sparkplug B Sequence Number Error".
    const leaf = await pki.issueClient({ name: "gappy" });
    const raw = await mqtt.connectAsync(broker.url, {
      ca: pki.caPem,
      cert: leaf.chain,
      key: leaf.key,
      clientId: "gappy",
      reconnectPeriod: 0,
    });
    try {
      const metrics = [
        { name: "bdSeq", datatype: "Int64" as const, value: 0n },
        { name: "v", alias: 1, datatype: "Int32" as const, value: 1 },
      ];
      await raw.publishAsync(
        "spBv1.0/Plant1/NBIRTH/gappy",
        Buffer.from(encodePayload({ timestamp: Date.now(), seq: 0, metrics })),
      );
      await expect.poll(() => host.nodes.get("Plant1/gappy")?.online).toBe(true);
      await raw.publishAsync(
        "spBv1.0/Plant1/NDATA/gappy",
        Buffer.from(
          encodePayload(
            { timestamp: Date.now(), seq: 3, metrics: [{ alias: 1, value: 2 }] },
            { datatypeOf: () => "Int32" },
          ),
        ),
      );
      await expect
        .poll(
          () =>
            geoScadaEvents(host.events).filter((e) => e.category === "Sparkplug B Sequence Number Error")
              .length,
        )
        .toBe(2);
    } finally {
      await raw.endAsync(true);
    }
    const events = geoScadaEvents(host.events);
    expect(events).toContainEqual(
      expect.objectContaining({
        category: "Sparkplug B Sequence Number Error",
        source: "Plant1/gappy",
        message: "Expected sequence number 1, received 3",
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        category: "Sparkplug B Online State",
        source: "Plant1/line2-nx3004",
        message: "Offline, NDEATH received",
      }),
    );
  });
});
