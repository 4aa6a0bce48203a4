// The example flow a user imports (Import > Examples), run as shipped in a real Node-RED: only the broker URL is
// changed, and the certificate files it names are put where it names them (relative to Node-RED's user folder).
// Its inject publishes through mqtt-tls out, the broker delivers it to mqtt-tls in, and the debug node logs it.
import { createTestPki, startTestBroker, type TestBroker, type TestPki } from "@proj/test-broker";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startNodeRed, type NodeRedProcess } from "./node-red-process.js";
import { NODE_RED_PACKAGE } from "./node-red-version.js";

const EXAMPLE = new URL("../examples/plc-telemetry-over-mutual-tls.json", import.meta.url);

let pki: TestPki;
let broker: TestBroker;
let red: NodeRedProcess;

beforeAll(async () => {
  pki = await createTestPki({ name: "node-red-example" });
  broker = await startTestBroker({ pki, requireClientCert: true });
  const flow = JSON.parse(await readFile(EXAMPLE, "utf8")) as Record<string, unknown>[];
  for (const node of flow) {
    if (node.type === "mqtt-tls-broker") {
      const config = node.config as { broker: { url: string } };
      config.broker.url = broker.url;
    }
    // The debug node also writes to Node-RED's log, where the test reads it.
    if (node.type === "debug") node.console = true;
  }
  red = await startNodeRed(
    flow,
    {},
    {
      "certs/ca.pem": pki.caPem,
      "certs/node-red-chain.pem": pki.client.chain,
      "certs/node-red.key": pki.client.key,
    },
  );
}, 60_000);

afterAll(async () => {
  await red?.close();
  await broker?.close();
  await pki?.cleanup();
});

it("the shipped example connects with its relative certificate paths and carries its message end to end", async () => {
  await expect
    .poll(() => red.output(), { timeout: 20_000, interval: 200 })
    .toMatch(/\[debug:received\][\s\S]*plant\/line1\/level[\s\S]*72\.4/);
  expect(red.output()).toContain("[mqtt-tls-broker:plant broker (mutual TLS)] connected");
  // The Node-RED users of this Node.js run: 5 where Node.js is 22.9 or later, else 4.1.
  expect(red.output()).toContain(`Node-RED version: v${NODE_RED_PACKAGE === "node-red-5" ? "5." : "4.1."}`);
  expect(broker.connections.some((c) => c.certificate?.subjectCn === "client")).toBe(true);
  expect(red.output()).not.toMatch(/\[(error|warn)\].*mqtt-tls/);
});
