// The generated Mosquitto ACL, enforced by a real Mosquitto: an edge node is its certificate's identity.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mosquittoAcl } from "../src/acl.js";
import { startEdgeNode } from "../src/edge-node.js";
import { startPrimaryHost } from "../src/host.js";
import { loadConfig } from "@proj/security-config";
import { encodePayload } from "../src/payload.js";
import { skipMosquitto, startLab, type Lab } from "./wire.js";

describe("mosquittoAcl", () => {
  it("writes pattern lines keyed on the certificate identity, or per-node blocks pinned to a group", () => {
    const open = mosquittoAcl({ hosts: [{ identity: "scada" }] });
    expect(open).toContain("pattern write spBv1.0/+/NBIRTH/%u");
    expect(open).toContain("pattern read spBv1.0/+/DCMD/%u/+");
    expect(open).toMatch(/user scada\ntopic read spBv1.0\/#/);
    const pinned = mosquittoAcl({ nodes: [{ group: "Plant1", node: "line1-plc" }] });
    expect(pinned).not.toContain("pattern");
    expect(pinned).toContain("user line1-plc\ntopic write spBv1.0/Plant1/NBIRTH/line1-plc");
    expect(() => mosquittoAcl({ nodes: [{ group: "Plant/1", node: "x" }] })).toThrow(
      /group id "Plant\/1" contains "\/"/,
    );
  });
});

describe.skipIf(skipMosquitto)("the ACL on Mosquitto", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({
      aclFile: async ({ pki }) => {
        const file = join(pki.dir, "sparkplug.acl");
        await writeFile(
          file,
          mosquittoAcl({ hosts: [{ identity: "scada" }, { identity: "observer-0", hostId: "observer" }] }),
        );
        return file;
      },
    });
  });
  afterAll(async () => {
    await lab?.[Symbol.asyncDispose]();
  });

  it("delivers the births of an edge node that publishes as its identity, and drops those of one that does not", async () => {
    await using scada = await startPrimaryHost(await lab.config("scada"), { hostId: "scada" });
    const obs = await lab.observer();
    await using good = await startEdgeNode(await lab.config("line1-plc"), {
      group: "Plant1",
      node: "line1-plc",
    });
    await expect.poll(() => scada.nodes.get("Plant1/line1-plc")?.online).toBe(true);
    // line2-plc's certificate, publishing as spoofed-plc: Mosquitto 2.0 accepts the connection and drops every
    // message it may not publish, without a word to the client (it believes its birth went out).
    const impostor = await startEdgeNode(await lab.config("line2-plc"), {
      group: "Plant1",
      node: "spoofed-plc",
    });
    expect(impostor.stats.published.NBIRTH).toBe(1);
    await impostor.stop();
    // Declared in the configuration, the mismatch is found before connecting, and the edge node does not start.
    const config = await lab.config("line2-plc", {
      sparkplug: { groupId: "Plant1", edgeNodeId: "spoofed-plc" },
    });
    await expect(startEdgeNode(config)).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      findings: [expect.objectContaining({ code: "SPARKPLUG_IDENTITY_MISMATCH" })],
    });
    // What tells the user before going on site: the configuration check (doctor's offline part).
    const { findings } = await loadConfig(config);
    expect(findings.find((f) => f.code === "SPARKPLUG_IDENTITY_MISMATCH")).toMatchObject({
      severity: "error",
      path: "sparkplug.edgeNodeId",
      message: expect.stringContaining(
        'identity is "line2-plc" but the edge node publishes as "spoofed-plc"',
      ),
    });
    expect(
      (
        await loadConfig(
          await lab.config("line1-plc", { sparkplug: { groupId: "Plant1", edgeNodeId: "line1-plc" } }),
        )
      ).findings.map((f) => f.code),
    ).not.toContain("SPARKPLUG_IDENTITY_MISMATCH");
    await obs.publish("spBv1.0/Plant1/NBIRTH/line1-plc", encodePayload({ seq: 0, metrics: [] }));
    await obs.quiet(500);
    expect(scada.nodes.has("Plant1/spoofed-plc")).toBe(false);
    expect(obs.of("NBIRTH", "spoofed-plc")).toHaveLength(0);
    // The observer is a host: it may not publish as an edge node either.
    expect(scada.nodes.get("Plant1/line1-plc")?.online).toBe(true);
    expect(scada.events.filter((e) => e.type === "NBIRTH")).toHaveLength(1);
    await good.update({});
  });
});
