// `mqtt-tls sparkplug`: the built command line, a Nexto edge node and a SCADA host over mutual TLS on a broker.
import { encodePayload } from "@proj/sparkplug";
import {
  createTestPki,
  mosquittoSkipReason,
  startMosquitto,
  startTestBroker,
  type TestPki,
} from "@proj/test-broker";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonDocument } from "./json-document.js";
import { freePort, runBin, startBin } from "./run-bin.js";

let work: string;
let pki: TestPki;
let broker: { url: string; close(): Promise<void> };

/** A configuration file for a client whose certificate has CN `name`. */
async function configFile(
  name: string,
  extra: Record<string, unknown> = {},
  url = broker.url,
  security: Record<string, unknown> = {},
): Promise<string> {
  const leaf = await pki.issueClient({ name });
  const file = join(work, `${name}.json`);
  await writeFile(
    file,
    JSON.stringify({
      broker: { url, clientId: name },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: leaf.files.chain, privateKey: leaf.files.key },
        ...security,
      },
      ...extra,
    }),
  );
  return file;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cli-sparkplug-"));
  pki = await createTestPki({ name: "cli-sparkplug", keyType: "rsa2048" });
  broker = mosquittoSkipReason()
    ? await startTestBroker({ pki, requireClientCert: true })
    : await startMosquitto({ pki, requireCertificate: true });
});
afterAll(async () => {
  await broker?.close();
  await pki?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("mqtt-tls sparkplug", () => {
  it("runs a Nexto edge node and a SCADA host; both print the JSON of the contract, the host writes Geo SCADA's points", async () => {
    const scada = await configFile("scada");
    const plc = await configFile("line1-nx3004");
    await using host = startBin([
      "sparkplug",
      "host",
      "-c",
      scada,
      "--host-id",
      "scada",
      "--duration",
      "6",
      "--json",
      "--points-csv",
      join(work, "points.csv"),
    ]);
    await host.waitFor(/primary host scada online/);
    const edge = await runBin(
      [
        "sparkplug",
        "edge",
        "-c",
        plc,
        "--group",
        "Plant1",
        "--node",
        "line1-nx3004",
        "--metrics-from",
        "nexto-sim",
        "--rate",
        "5",
        "--duration",
        "2",
        "--json",
      ],
      { timeoutMs: 30_000 },
    );
    expect(edge.code, edge.stderr).toBe(0);
    const edgeDoc = jsonDocument(edge.stdout);
    expect(edgeDoc).toMatchObject({
      ok: true,
      bdSeq: 0,
      rebirths: 0,
      commands: [],
      published: { NBIRTH: 1, DBIRTH: 0, DDATA: 0 },
    });
    expect((edgeDoc.published as { NDATA: number }).NDATA).toBeGreaterThan(3);
    expect(edge.stderr).toMatch(/births published: Plant1\/line1-nx3004, bdSeq 0/);
    expect(await host.exited).toBe(0);
    const out = host.output();
    const doc = jsonDocument(out.slice(out.indexOf("{"), out.lastIndexOf("}") + 1));
    const [node] = doc.nodes as {
      node: string;
      online: boolean;
      bdSeq: number;
      metrics: { name: string; datatype: string; value: unknown; stale: boolean }[];
    }[];
    expect(node).toMatchObject({ node: "line1-nx3004", online: false, bdSeq: 0 }); // NDEATH at its stop
    const count = node!.metrics.find((m) => m.name === "line1/production-count");
    expect(count).toMatchObject({ datatype: "UInt64", stale: true });
    expect(typeof count?.value).toBe("string"); // 64-bit values print as strings
    expect((doc.events as { type: string }[]).map((e) => e.type)).toEqual(["NBIRTH", "NDEATH"]);
    expect(await readFile(join(work, "points.csv"), "utf8")).toContain(
      "Plant1,line1-nx3004,,line1/tank-level,Float,analog,%",
    );
  });

  it("decodes a payload from a file, binary or hex, and names a payload it cannot read", async () => {
    const bytes = encodePayload({
      timestamp: 1_767_225_600_000,
      seq: 4,
      metrics: [{ name: "Count", datatype: "Int64", value: 2n ** 60n }],
    });
    await writeFile(join(work, "ndata.bin"), bytes);
    await writeFile(join(work, "ndata.hex"), Buffer.from(bytes).toString("hex").replace(/(..)/g, "$1 "));
    const binary = await runBin(["sparkplug", "decode", join(work, "ndata.bin"), "--json"]);
    expect(binary.code).toBe(0);
    expect(jsonDocument(binary.stdout)).toMatchObject({
      ok: true,
      payload: {
        seq: 4,
        timestamp: 1_767_225_600_000,
        metrics: [{ name: "Count", datatype: "Int64", value: "1152921504606846976" }],
      },
    });
    const hex = await runBin(["sparkplug", "decode", join(work, "ndata.hex"), "--hex"]);
    expect(hex.code).toBe(0);
    expect(hex.stdout).toContain('Count: Int64 "1152921504606846976"');
    await writeFile(join(work, "garbage.bin"), Buffer.from("not a payload"));
    const bad = await runBin(["sparkplug", "decode", join(work, "garbage.bin"), "--json"]);
    expect(bad.code).toBe(1);
    expect(jsonDocument(bad.stdout)).toMatchObject({
      ok: false,
      findings: [{ code: "SPARKPLUG_PAYLOAD_INVALID" }],
    });
    const notHex = await runBin(["sparkplug", "decode", join(work, "ndata.bin"), "--hex"]);
    expect(notHex.code).toBe(2);
  });

  it("writes the broker ACL, and doctor says when a certificate is not the edge node it publishes as", async () => {
    const acl = await runBin(["sparkplug", "acl", "--host", "scada", "--node", "Plant1/line1-plc"]);
    expect(acl.code).toBe(0);
    expect(acl.stdout).toContain("user line1-plc\ntopic write spBv1.0/Plant1/NBIRTH/line1-plc");
    expect((await runBin(["sparkplug", "acl", "--node", "Plant1"])).code).toBe(2);
    const spoof = await configFile("line2-plc", {
      sparkplug: { groupId: "Plant1", edgeNodeId: "line1-plc" },
    });
    const doctor = await runBin(["doctor", "-c", spoof, "--offline", "--json"]);
    expect(doctor.code).toBe(1);
    const report = JSON.parse(doctor.stdout) as { findings: { code: string; message: string }[] };
    expect(report.findings[0]).toMatchObject({ code: "SPARKPLUG_IDENTITY_MISMATCH" });
    expect(report.findings[0]!.message).toContain('identity is "line2-plc"');
    const edge = await runBin(["sparkplug", "edge", "-c", spoof, "--duration", "1", "--json"]);
    expect(edge.code).toBe(1);
    expect(jsonDocument(edge.stdout)).toMatchObject({
      ok: false,
      findings: [{ code: "SPARKPLUG_IDENTITY_MISMATCH" }],
    });
  });

  it.skipIf(mosquittoSkipReason())(
    "mosquitto-conf --acl-file wires the ACL: Mosquitto delivers a node publishing as its certificate, drops an impostor",
    async () => {
      const port = await freePort();
      const url = `mqtts://127.0.0.1:${port}`;
      const acl = await runBin(["sparkplug", "acl", "--host", "acl-scada"]);
      // Beside the PKI's files, which Mosquitto (dropping root for its own user) can read.
      const aclFile = join(pki.dir, "sparkplug.acl");
      await writeFile(aclFile, acl.stdout);
      const scada = await configFile("acl-scada", {}, url);
      const conf = await runBin([
        "mosquitto-conf",
        "-c",
        scada,
        "--certfile",
        pki.server.files.chain,
        "--keyfile",
        pki.server.files.key,
        "--acl-file",
        aclFile,
      ]);
      expect(conf.stdout).toContain(`acl_file ${aclFile}\n`);
      await using _mosquitto = await startMosquitto({ pki, port, listenerBlock: () => conf.stdout });
      await using host = startBin([
        "sparkplug",
        "host",
        "-c",
        scada,
        "--host-id",
        "acl-scada",
        "--duration",
        "4",
        "--json",
      ]);
      await host.waitFor(/primary host acl-scada online/);
      const edges = await Promise.all([
        runBin([
          "sparkplug",
          "edge",
          "-c",
          await configFile("line5-plc", {}, url),
          "--group",
          "Plant1",
          "--node",
          "line5-plc",
          "--duration",
          "1",
          "--json",
        ]),
        runBin([
          "sparkplug",
          "edge",
          "-c",
          await configFile("line6-plc", {}, url),
          "--group",
          "Plant1",
          "--node",
          "spoofed-plc",
          "--duration",
          "1",
          "--json",
        ]),
      ]);
      // Both believe their births went out: Mosquitto drops what a client may not publish without a word.
      for (const edge of edges)
        expect(jsonDocument(edge.stdout)).toMatchObject({ ok: true, published: { NBIRTH: 1 } });
      expect(await host.exited).toBe(0);
      const out = host.output();
      const doc = jsonDocument(out.slice(out.indexOf("{"), out.lastIndexOf("}") + 1));
      expect((doc.nodes as { node: string }[]).map((n) => n.node)).toEqual(["line5-plc"]);
      const notMutual = await configFile("plain-scada", {}, url, { sendClientCertificate: false });
      expect((await runBin(["mosquitto-conf", "-c", notMutual, "--acl-file", aclFile])).code).toBe(2);
    },
  );
});
