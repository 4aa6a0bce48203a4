import {
  createTestPki,
  probeMqtt,
  startTestBroker,
  type HandshakeFailure,
  type TestBroker,
} from "@proj/test-broker";
import mqtt from "mqtt";

/** Where the demo writes its lines (stdout in `pnpm demo`, a buffer in tests). */
export type DemoOutput = (line: string) => void;

export interface DemoResult {
  /** Every step did what it should: messages arrived, and every bad client was refused. */
  ok: boolean;
  /** Payloads the SCADA server received, in order. */
  received: string[];
  /** Why the broker refused each bad client, by scenario. */
  refusals: Record<string, string>;
}

const READINGS = [
  { tag: "line1/tank/level", value: "72.4 %" },
  { tag: "line1/pump/state", value: "RUNNING" },
  { tag: "line1/tank/temperature", value: "41.8 °C" },
];

async function refusalOf(broker: TestBroker, before: number): Promise<HandshakeFailure | undefined> {
  const failures = await broker
    .waitForHandshakeFailures(before + 1, 3000)
    .catch(() => broker.handshakeFailures);
  return failures[before];
}

/**
 * The end-to-end demo: a lab PKI is created, the embedded broker starts with mutual TLS, a PLC publishes readings
 * that a SCADA server receives over TLS, and three misconfigured clients are refused with the reason.
 *
 * @example
 * ```ts
 * const { ok } = await runDemo(console.log);
 * ```
 */
export async function runDemo(out: DemoOutput): Promise<DemoResult> {
  const refusals: Record<string, string> = {};
  const received: string[] = [];

  out("1. A lab PKI, generated now in a temporary folder (root CA → intermediate CA → leaves, EC P-256):");
  await using pki = await createTestPki({ name: "demo", intermediate: true });
  const plc = await pki.issueClient({ name: "line1-plc" });
  const scada = await pki.issueClient({ name: "scada-server" });
  out(`   root          ${pki.root.subject}`);
  out(`   intermediate  ${pki.intermediate!.subject}`);
  out(`   broker        ${pki.server.subject}  (names: localhost, 127.0.0.1, ::1)`);
  out(`   clients       CN=${plc.name}, CN=${scada.name}`);

  out("");
  out(
    "2. The embedded broker (aedes) on 127.0.0.1: TLS only, client certificate required, clientId = certificate CN.",
  );
  await using broker = await startTestBroker({ pki, requireClientCert: true, bindClientIdToCn: true });
  out(`   listening on ${broker.url}`);

  out("");
  out("3. The SCADA server subscribes and the PLC publishes, both with their own certificates:");
  const tlsFor = (leaf: typeof plc) => ({
    ca: pki.caPem,
    cert: leaf.chain,
    key: leaf.key,
    clientId: leaf.name,
  });
  const subscriber = await mqtt.connectAsync(broker.url, {
    ...tlsFor(scada),
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  const publisher = await mqtt.connectAsync(broker.url, {
    ...tlsFor(plc),
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  try {
    for (const clientId of [scada.name, plc.name]) {
      const seen = await broker.waitForClient(clientId);
      out(
        `   ${clientId.padEnd(13)} connected: ${seen.tlsVersion}, ${seen.cipher}, certificate CN=${seen.certificate?.subjectCn}`,
      );
    }
    const allArrived = new Promise<void>((resolve) => {
      subscriber.on("message", (topic, payload) => {
        received.push(payload.toString());
        out(`   SCADA received  ${topic} = ${payload.toString()}`);
        if (received.length === READINGS.length) resolve();
      });
    });
    await subscriber.subscribeAsync("line1/#", { qos: 1 });
    for (const { tag, value } of READINGS) {
      await publisher.publishAsync(tag, value, { qos: 1 });
      out(`   PLC published   ${tag} = ${value}  (QoS 1, acknowledged)`);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allArrived, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
    clearTimeout(timer);
  } finally {
    await Promise.all([publisher.endAsync(), subscriber.endAsync()]);
  }

  out("");
  out("4. What the broker does with clients that are set up wrong:");
  const expired = await pki.issueClient({ name: "old-plc", expired: true });
  const scenarios: { name: string; options: Parameters<typeof probeMqtt>[1] }[] = [
    { name: "no client certificate", options: { ca: pki.caPem, clientId: "anonymous" } },
    {
      name: "expired client certificate",
      options: { ca: pki.caPem, cert: expired.chain, key: expired.key, clientId: "old-plc" },
    },
  ];
  for (const scenario of scenarios) {
    const before = broker.handshakeFailures.length;
    const result = await probeMqtt(broker.url, scenario.options, 5000);
    const failure = await refusalOf(broker, before);
    refusals[scenario.name] = result.connected
      ? "ACCEPTED"
      : (failure?.code ?? "refused, no reason recorded");
    out(
      `   ${scenario.name.padEnd(28)} → ${result.connected ? "ACCEPTED (wrong!)" : `refused: ${refusals[scenario.name]}`}`,
    );
  }
  await using otherPki = await createTestPki({ name: "other-site" });
  const wrongCa = await probeMqtt(broker.url, { ...tlsFor(plc), ca: otherPki.caPem }, 5000);
  refusals["client trusts another CA"] = wrongCa.connected ? "ACCEPTED" : (wrongCa.error?.code ?? "refused");
  out(
    `   ${"client trusts another CA".padEnd(28)} → the client refuses the broker: ${refusals["client trusts another CA"]}`,
  );

  const ok =
    received.length === READINGS.length && Object.values(refusals).every((reason) => reason !== "ACCEPTED");
  out("");
  out(
    ok
      ? "Done: readings delivered over mutual TLS, and every bad client refused."
      : "FAILED: see the steps above.",
  );
  return { ok, received, refusals };
}
