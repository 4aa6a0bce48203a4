import { connectSecure, isMqttTlsError, type SecureClient } from "@proj/mqtt-tls";
import { loadConfig } from "@proj/security-config";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { issueLabLeaf } from "@proj/pki";

/** Options of {@link runFleet}. */
export interface FleetOptions {
  /** The configuration every device starts from (its own clientId and key store replace the config's). */
  config: { broker: Record<string, unknown>; security?: Record<string, unknown> } & Record<string, unknown>;
  /** Where the config's relative paths start. */
  baseDir: string;
  /** A lab PKI from `pki init`: each device gets its own client certificate, issued once and cached there. */
  pkiDir: string;
  devices: number;
  /** Messages per second per device. */
  rate: number;
  /** Seconds over which the devices start, evenly spread. */
  rampSeconds: number;
  /** Seconds of publishing once every device has had its turn to connect. */
  durationSeconds: number;
  qos?: 0 | 1;
  /**
   * After publishing, drop every connection once (as a network blip would) and measure the reconnect: how long
   * until all are back, and how many resumed their TLS session.
   */
  reconnect?: boolean;
  /** Called as devices connect or fail (for a progress bar). */
  onProgress?: (done: number, total: number) => void;
}

/** What a fleet run measured. */
export interface FleetReport {
  devices: number;
  connected: number;
  /** Checking every device's configuration, before the first connection. */
  validateMs: number;
  /** Failed devices by diagnosis code. */
  failures: Record<string, number>;
  /** Time from a device's start to its CONNACK, in ms. */
  connectMs: { p50: number; p90: number; p99: number; max: number };
  /** From the first start to the last CONNACK. */
  connectAllMs: number;
  handshakesPerSecond: number;
  /** With `reconnect`: from dropping every connection to the last one back. */
  reconnectAllMs?: number;
  /** Connections that resumed a TLS session, of all connections (after `reconnect`, of the reconnections). */
  sessionReuse: { resumed: number; total: number; rate: number };
  messages: number;
  messagesPerSecond: number;
  /** Resident memory added per connected device, in KiB. */
  memoryPerConnectionKiB: number;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The client certificate of each device, issued from the lab PKI on first use and cached in `<pki>/fleet`. */
export async function fleetCertificates(
  pkiDir: string,
  devices: number,
): Promise<{ name: string; certificate: string; privateKey: string }[]> {
  const out = join(pkiDir, "fleet");
  const list = [];
  for (let i = 1; i <= devices; i++) {
    const name = `fleet-${String(i).padStart(4, "0")}`;
    const certificate = join(out, `${name}-chain.crt`);
    const privateKey = join(out, `${name}.key`);
    if (!(await exists(privateKey))) await issueLabLeaf({ dir: pkiDir, role: "client", name, outDir: out });
    list.push({ name, certificate, privateKey });
  }
  return list;
}

/**
 * Starts `devices` simulated devices, each with its own client certificate, spread over the ramp; each publishes
 * `rate` messages a second for the duration; then reports connect-time percentiles, handshakes per second, TLS
 * session reuse, message rate, failures by code and memory per connection. Every device is closed at the end.
 *
 * @example
 * ```ts
 * const report = await runFleet({ config, baseDir: ".", pkiDir: "lab", devices: 100, rate: 1, rampSeconds: 2, durationSeconds: 5 });
 * ```
 */
export async function runFleet(options: FleetOptions): Promise<FleetReport> {
  const identities = await fleetCertificates(options.pkiDir, options.devices);
  // Every device's configuration is checked before the first one starts: the clock below measures connections.
  const validateStart = performance.now();
  const devices = await Promise.all(
    identities.map(async (identity) => {
      const config = {
        ...options.config,
        broker: { ...options.config.broker, clientId: identity.name },
        security: {
          ...options.config.security,
          sendClientCertificate: true,
          keyStore: { certificate: identity.certificate, privateKey: identity.privateKey },
        },
      };
      return { config, validation: await loadConfig(config, { baseDir: options.baseDir }) };
    }),
  );
  const validateMs = performance.now() - validateStart;
  const clients: SecureClient[] = [];
  const connectTimes: number[] = [];
  const failures: Record<string, number> = {};
  let done = 0;
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  let lastConnack = started;
  const spacing = options.devices > 1 ? (options.rampSeconds * 1000) / options.devices : 0;

  await Promise.all(
    devices.map(async ({ validation }, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * spacing));
      const t0 = performance.now();
      try {
        const client = await connectSecure(validation, {
          backoff: { minMs: 200, maxMs: 2000 },
        });
        const now = performance.now();
        connectTimes.push(now - t0);
        lastConnack = Math.max(lastConnack, now);
        clients.push(client);
      } catch (error) {
        // A refused configuration is counted by its first error, the cause, not as CONFIG_INVALID.
        const code = isMqttTlsError(error)
          ? error.code === "CONFIG_INVALID"
            ? (error.findings[0]?.code ?? error.code)
            : error.code
          : "ERROR";
        failures[code] = (failures[code] ?? 0) + 1;
      } finally {
        options.onProgress?.(++done, options.devices);
      }
    }),
  );
  const connectAllMs = lastConnack - started;
  const rssAfter = process.memoryUsage().rss;

  let messages = 0;
  const qos = options.qos ?? 0;
  const intervalMs = 1000 / options.rate;
  // Each device sends `rate` a second for the duration: the first at once, so 10 s at 1/s is 10 messages, not 9.
  const perDevice = Math.round(options.durationSeconds * options.rate);
  // Only what is still on its way is kept: a long run does not hold one promise per message.
  const pending = new Set<Promise<void>>();
  const publishStart = performance.now();
  const senders = clients.map((client, i) => {
    let sent = 0;
    const send = () => {
      if (sent >= perDevice) return false;
      sent++;
      // A QoS 0 message while the device is offline is dropped by the client: it is not counted as sent.
      if (qos === 0 && client.state !== "connected") return true;
      const sending: Promise<void> = client
        .publish(`fleet/${i}/telemetry`, `{"seq":${sent}}`, { qos })
        .then(
          () => void messages++,
          () => undefined,
        )
        .finally(() => pending.delete(sending));
      pending.add(sending);
      return true;
    };
    send();
    return { send, timer: setInterval(send, intervalMs) };
  });
  await new Promise((resolve) => setTimeout(resolve, options.durationSeconds * 1000));
  for (const sender of senders) {
    clearInterval(sender.timer);
    // A timer a busy machine ran late still owes its last messages: the count is the schedule's, not the timer's.
    while (sender.send());
  }
  // QoS 1 acknowledgements still on their way count; a broker that stopped answering does not hold the report.
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(pending),
    new Promise((resolve) => (grace = setTimeout(resolve, 2000))),
  ]);
  clearTimeout(grace);
  const publishMs = performance.now() - publishStart;

  let reconnectAllMs: number | undefined;
  if (options.reconnect && clients.length > 0) {
    const reconnectStart = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        const back = new Promise<void>((resolve) => {
          const onState = (state: string) => {
            if (state !== "connected") return;
            client.off("state", onState);
            resolve();
          };
          client.on("state", onState);
        });
        client.mqtt.stream.destroy();
        await back;
      }),
    );
    reconnectAllMs = performance.now() - reconnectStart;
  }
  const resumed = clients.filter((c) => c.tlsInfo?.sessionReused).length;
  await Promise.all(clients.map((client) => client.end(true)));
  const sorted = connectTimes.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    devices: options.devices,
    connected: clients.length,
    validateMs: round(validateMs),
    failures,
    connectMs: {
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.at(-1) ?? 0),
    },
    connectAllMs: round(connectAllMs),
    handshakesPerSecond: round(clients.length / (connectAllMs / 1000 || 1)),
    sessionReuse: {
      resumed,
      total: clients.length,
      rate: clients.length ? round(resumed / clients.length) : 0,
    },
    ...(reconnectAllMs !== undefined ? { reconnectAllMs: round(reconnectAllMs) } : {}),
    messages,
    messagesPerSecond: round(messages / (publishMs / 1000)),
    memoryPerConnectionKiB: clients.length ? round((rssAfter - rssBefore) / 1024 / clients.length) : 0,
  };
}
