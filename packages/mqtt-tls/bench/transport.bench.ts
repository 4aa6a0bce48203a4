/**
 * Transport benchmarks, against a local Mosquitto (or the embedded aedes broker where Mosquitto is missing), with
 * every ratio measured in this one run:
 *  (a) publish throughput of 100,000 x 64 B at QoS 0 and QoS 1 through SecureClient against bare mqtt.js with the
 *      same TLS options (goal >= 0.97);
 *  (b) reconnect time with TLS session resumption against a full handshake (goal <= 0.6x on TLS 1.2, <= 0.8x on 1.3).
 * Run with `pnpm bench` in this package.
 */
import { createTestPki, findMosquitto, startMosquitto, startTestBroker } from "@proj/test-broker";
import mqtt, { type MqttClient } from "mqtt";
import mqttPacket from "mqtt-packet";
import { connect as connectTls, createSecureContext, type SecureVersion } from "node:tls";
import { connectSecure, type SecureClient } from "../src/index.js";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const WINDOW = 1000;
const ROUNDS = 5;
const RECONNECTS = 40;
const payload = Buffer.alloc(64, 0x2a);

await using pki = await createTestPki({ name: "bench-transport" });
const useMosquitto = findMosquitto() !== undefined;
await using broker = useMosquitto
  ? await startMosquitto({ pki, requireCertificate: true })
  : await startTestBroker({ pki, requireClientCert: true });
const url = broker.url;
const port = Number(new URL(url).port);
const tls = { ca: pki.caPem, cert: pki.client.chain, key: pki.client.key };
const config = (maxVersion: SecureVersion = "TLSv1.3") => ({
  broker: { url, clientId: `bench-${Math.random().toString(16).slice(2)}` },
  security: {
    trustStore: [pki.caFile],
    sendClientCertificate: true,
    keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
    maxTlsVersion: maxVersion,
    expiryWarningDays: 0,
  },
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** QoS 0: every message written, then a QoS 1 fence acknowledged: the broker has taken them all. */
async function qos0(publish: (i: number) => void, fence: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < MESSAGES; i++) publish(i);
  await fence();
  return performance.now() - start;
}

/** QoS 1 with at most WINDOW outstanding (beyond 65,535 in flight mqtt.js stalls). */
async function qos1(publish: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let sent = 0;
  const worker = async () => {
    while (sent < MESSAGES) {
      sent++;
      await publish();
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  return performance.now() - start;
}

async function bare(): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    ...tls,
    servername: "localhost",
    reconnectPeriod: 0,
    clientId: `bare-${Math.random().toString(16).slice(2)}`,
  });
}

const results: Record<string, { bare: number[]; secure: number[] }> = {
  "QoS 0": { bare: [], secure: [] },
  "QoS 1": { bare: [], secure: [] },
};
async function runBare(): Promise<void> {
  const b = await bare();
  results["QoS 0"]!.bare.push(
    await qos0(
      () => b.publish("bench/q0", payload, { qos: 0 }),
      () => b.publishAsync("bench/fence", "x", { qos: 1 }),
    ),
  );
  results["QoS 1"]!.bare.push(await qos1(() => b.publishAsync("bench/q1", payload, { qos: 1 })));
  await b.endAsync();
}

async function runSecure(): Promise<void> {
  const s: SecureClient = await connectSecure(config(), { baseDir: "/", maxInflight: WINDOW });
  results["QoS 0"]!.secure.push(
    await qos0(
      () => void s.publish("bench/q0", payload, { qos: 0 }),
      () => s.publish("bench/fence", "x", { qos: 1 }),
    ),
  );
  results["QoS 1"]!.secure.push(await qos1(() => s.publish("bench/q1", payload, { qos: 1 })));
  await s.end();
}

// Alternate which side goes first, so neither owns the warm-up.
for (let round = 0; round < ROUNDS; round++) {
  if (round % 2 === 0) {
    await runBare();
    await runSecure();
  } else {
    await runSecure();
    await runBare();
  }
}

/** One TLS handshake plus MQTT CONNECT/CONNACK with the client's cached context, with or without a session. */
async function connectOnce(
  version: SecureVersion,
  session: Buffer | undefined,
  context: ReturnType<typeof createSecureContext>,
): Promise<{ ms: number; session: Buffer | undefined; reused: boolean }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    const socket = connectTls({
      host: "127.0.0.1",
      port,
      secureContext: context,
      servername: "localhost",
      minVersion: version,
      maxVersion: version,
      ...(session ? { session } : {}),
    });
    socket.on("session", (s: Buffer) => (ticket = s));
    socket.once("error", reject);
    socket.once("secureConnect", () =>
      socket.write(
        mqttPacket.generate({
          cmd: "connect",
          protocolId: "MQTT",
          protocolVersion: 4,
          clean: true,
          clientId: "bench-reconnect",
          keepalive: 30,
        }),
      ),
    );
    socket.once("data", () => {
      const ms = performance.now() - start;
      const reused = socket.isSessionReused();
      socket.end(mqttPacket.generate({ cmd: "disconnect" }));
      socket.once("close", () => resolve({ ms, session: ticket, reused }));
    });
  });
}

const reconnect: Record<string, { full: number; resumed: number; reused: number }> = {};
for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
  const context = createSecureContext({ ...tls, minVersion: version, maxVersion: version });
  const full: number[] = [];
  const resumed: number[] = [];
  let reusedCount = 0;
  let session: Buffer | undefined;
  for (let i = 0; i < RECONNECTS; i++) {
    const a = await connectOnce(version, undefined, context);
    full.push(a.ms);
    session = a.session ?? session;
    const b = await connectOnce(version, session, context);
    resumed.push(b.ms);
    if (b.reused) reusedCount++;
    session = b.session ?? session;
  }
  reconnect[version] = { full: median(full), resumed: median(resumed), reused: reusedCount };
}

console.log(
  `transport benchmarks against ${useMosquitto ? "Mosquitto" : "aedes (no mosquitto binary)"} on loopback, mutual TLS 1.3, ${MESSAGES} x 64 B, median of ${ROUNDS}`,
);
for (const [name, r] of Object.entries(results)) {
  const bareRate = MESSAGES / (median(r.bare) / 1000);
  const secureRate = MESSAGES / (median(r.secure) / 1000);
  console.log(
    `  publish ${name}: bare mqtt.js ${Math.round(bareRate)} msg/s, SecureClient ${Math.round(secureRate)} msg/s, ratio ${(secureRate / bareRate).toFixed(2)} (goal >= 0.97)`,
  );
  console.log(
    `::bench ${JSON.stringify({ name: `publish ${name} throughput vs bare mqtt.js`, ratio: secureRate / bareRate, goal: ">= 0.97" })}`,
  );
}
for (const [version, r] of Object.entries(reconnect)) {
  const goal = version === "TLSv1.2" ? 0.6 : 0.8;
  console.log(
    `  reconnect ${version}: full ${r.full.toFixed(2)} ms, resumed ${r.resumed.toFixed(2)} ms (${r.reused}/${RECONNECTS} resumed), ratio ${(r.resumed / r.full).toFixed(2)} (goal <= ${goal})`,
  );
  console.log(
    `::bench ${JSON.stringify({ name: `resumed vs full reconnect ${version}`, ratio: r.resumed / r.full, goal: `<= ${goal}` })}`,
  );
}
