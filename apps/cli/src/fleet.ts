import { connectSecure, isMqttTlsError, type SecureClient } from "@proj/mqtt-tls";
import { loadConfig } from "@proj/security-config";
import { randomBytes } from "node:crypto";
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
  /**
   * With a broker list, device i starts at entry i mod n (the list rotated), so the fleet is spread over the
   * nodes as a load balancer would; false: every device walks the list from its first entry. @default true
   */
  spread?: boolean;
  /**
   * Count what arrives: a monitor client (its own certificate, a persistent session) subscribes to every device's
   * topic, so the report says how many acknowledged messages were lost. @default true
   */
  monitor?: boolean;
  /** Called once, half way through the publishing (a bench kills a broker node here). */
  midway?: () => void | Promise<void>;
}

/** How long disconnected devices took to be back, over the whole run. */
interface ReconnectStats {
  /** Reconnections (a device that dropped and came back, through any node). */
  count: number;
  p50: number;
  p99: number;
  max: number;
  /** From the first drop to the last device back. */
  allBackMs: number;
  /** Devices not connected at the end. */
  stillDown: number;
}

/** One entry of the broker list, and the devices on it. */
interface FleetNodeReport {
  url: string;
  /** Devices connected through it once every device had its turn to connect. */
  devicesAtStart: number;
  /** Devices connected through it at the end of the run. */
  devicesAtEnd: number;
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
  /** Each entry of the broker list. */
  nodes: FleetNodeReport[];
  /** Devices that dropped and came back (a node lost, or `reconnect`). */
  reconnects: ReconnectStats;
  /** With the monitor: distinct messages it received. */
  received?: number;
  /**
   * With the monitor: acknowledged messages (QoS 1) or sent ones (QoS 0) that it never received. At QoS 1 this must
   * be 0 whatever node is lost.
   */
  lost?: number;
  /** Why the monitor could not count (its certificate refused, no right to subscribe): no `lost` then. */
  monitorError?: string;
  /** The first 20 acknowledged messages the monitor never received, as `topic payload`. */
  lostMessages?: string[];
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
  onlyName?: string,
): Promise<{ name: string; certificate: string; privateKey: string }[]> {
  const out = join(pkiDir, "fleet");
  const list = [];
  for (let i = 1; i <= devices; i++) {
    const name = onlyName ?? `fleet-${String(i).padStart(4, "0")}`;
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
  const list = [options.config.broker.url].flat() as string[];
  const startOf = (i: number) => (options.spread === false || list.length < 2 ? 0 : i % list.length);
  const rotated = (i: number): string | string[] => {
    if (list.length < 2) return options.config.broker.url as string | string[];
    return [...list.slice(startOf(i)), ...list.slice(0, startOf(i))];
  };
  const devices = await Promise.all(
    identities.map(async (identity, i) => {
      const config = {
        ...options.config,
        broker: { ...options.config.broker, url: rotated(i), clientId: identity.name },
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
  // Device 0's list is the configured order; shown without credentials.
  const shownUrls = devices[0]?.validation.resolved?.urls.map((url) => url.display) ?? list;
  const deviceOf = new Map<SecureClient, number>();
  const clients: SecureClient[] = [];
  const connectTimes: number[] = [];
  const outages = new OutageClock();
  // A monitor that cannot start is said in the report (`monitorError`): the run goes on without a loss count.
  let monitorError: string | undefined;
  const monitor =
    options.monitor === false
      ? undefined
      : await startMonitor(options, (i) => rotated(i), options.devices).catch((error: unknown) => {
          monitorError = isMqttTlsError(error) ? `${error.code}: ${error.message}` : (error as Error).message;
          return undefined;
        });
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
        deviceOf.set(client, i);
        outages.watch(client);
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
  const nodesAtStart = nodeCounts(deviceOf, list.length, startOf);

  let messages = 0;
  const qos = options.qos ?? 0;
  // Messages carry the run's id: the monitor counts this run's only (a broker may hold an earlier run's).
  const run = monitor?.run ?? "";
  const acknowledged: string[] | undefined = monitor ? [] : undefined;
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
      const topic = `fleet/${i}/telemetry`;
      const payload = `{"seq":${sent},"run":"${run}"}`;
      const sending: Promise<void> = client
        .publish(topic, payload, { qos })
        .then(
          () => {
            messages++;
            // With a monitor, what was acknowledged is kept, to name what it never received.
            acknowledged?.push(`${topic} ${payload}`);
          },
          () => undefined,
        )
        .finally(() => pending.delete(sending));
      pending.add(sending);
      return true;
    };
    send();
    return { send, timer: setInterval(send, intervalMs) };
  });
  const halfMs = (options.durationSeconds * 1000) / 2;
  await new Promise((resolve) => setTimeout(resolve, halfMs));
  await options.midway?.();
  await new Promise((resolve) =>
    setTimeout(resolve, Math.max(0, options.durationSeconds * 1000 - (performance.now() - publishStart))),
  );
  for (const sender of senders) {
    clearInterval(sender.timer);
    // A timer a busy machine ran late still owes its last messages: the count is the schedule's, not the timer's.
    while (sender.send());
  }
  // QoS 1 acknowledgements still on their way count; a broker that stopped answering does not hold the report
  // (after a node was lost, messages in flight are sent again through another: that takes the reconnect).
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(pending),
    new Promise((resolve) => (grace = setTimeout(resolve, outages.count > 0 ? 15_000 : 2000))),
  ]);
  clearTimeout(grace);
  const publishMs = performance.now() - publishStart;
  // Devices still away when publishing ended are waited for a little: their reconnect is part of the report.
  await outages.settled(10_000);
  const received = await monitor?.caughtUp(messages, 5000);
  const lostMessages = monitor && acknowledged ? monitor.missing(acknowledged).slice(0, 20) : [];

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
  const nodesAtEnd = nodeCounts(deviceOf, list.length, startOf);
  const reconnects = outages.stats(clients);
  await Promise.all(clients.map((client) => client.end(true)));
  await monitor?.close();
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
    nodes: shownUrls.map((url, i) => ({
      url,
      devicesAtStart: nodesAtStart[i] ?? 0,
      devicesAtEnd: nodesAtEnd[i] ?? 0,
    })),
    reconnects: {
      ...reconnects,
      p50: round(reconnects.p50),
      p99: round(reconnects.p99),
      max: round(reconnects.max),
      allBackMs: round(reconnects.allBackMs),
    },
    ...(received !== undefined ? { received, lost: Math.max(0, messages - received) } : {}),
    ...(lostMessages.length > 0 ? { lostMessages } : {}),
    ...(monitorError !== undefined ? { monitorError } : {}),
  };
}

/**
 * Devices connected through each entry of the broker list, by the entry's place in the configured list (a device's
 * own list is that one rotated by `startOf` it).
 */
function nodeCounts(
  clients: ReadonlyMap<SecureClient, number>,
  entries: number,
  startOf: (device: number) => number,
): number[] {
  const counts = Array.from({ length: entries }, () => 0);
  for (const [client, device] of clients) {
    const at = client.nodes.findIndex((node) => node.state === "connected");
    if (at !== -1) counts[(startOf(device) + at) % entries]!++;
  }
  return counts;
}

/** When each device dropped and came back. */
class OutageClock {
  readonly #down = new Map<SecureClient, number>();
  readonly #durations: number[] = [];
  #firstDrop: number | undefined;
  #lastBack: number | undefined;
  #waiters = new Set<() => void>();

  get count(): number {
    return this.#durations.length + this.#down.size;
  }

  watch(client: SecureClient): void {
    client.on("state", (state, previous) => {
      const now = performance.now();
      if (previous === "connected" && state !== "connected" && state !== "closed") {
        this.#down.set(client, now);
        this.#firstDrop ??= now;
      } else if (state === "connected" && this.#down.has(client)) {
        this.#durations.push(now - this.#down.get(client)!);
        this.#down.delete(client);
        this.#lastBack = now;
        if (this.#down.size === 0) for (const wake of this.#waiters) wake();
      }
    });
  }

  /** Resolves once no device is away (or after `timeoutMs`). */
  async settled(timeoutMs: number): Promise<void> {
    if (this.#down.size === 0) return;
    let wake: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      wake = resolve;
      this.#waiters.add(wake);
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    this.#waiters.delete(wake);
  }

  stats(clients: readonly SecureClient[]): ReconnectStats {
    const sorted = [...this.#durations].sort((a, b) => a - b);
    return {
      count: sorted.length,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? 0,
      allBackMs:
        this.#firstDrop === undefined || this.#lastBack === undefined ? 0 : this.#lastBack - this.#firstDrop,
      stillDown: clients.filter((c) => c.state !== "connected").length,
    };
  }
}

/** The monitor: one more client, subscribed to every device's topic, counting distinct messages. */
async function startMonitor(
  options: FleetOptions,
  urlOf: (i: number) => string | string[],
  devices: number,
): Promise<{
  run: string;
  caughtUp(expected: number, quietMs: number): Promise<number>;
  /** Which of these messages (`topic payload`) it never received. */
  missing(messages: readonly string[]): string[];
  close(): Promise<void>;
}> {
  const [identity] = await fleetCertificates(options.pkiDir, 1, "fleet-monitor");
  const config = {
    ...options.config,
    // A persistent session: what arrives while the monitor moves to another node waits for it there.
    broker: { ...options.config.broker, url: urlOf(devices), clientId: identity!.name, cleanSession: false },
    security: {
      ...options.config.security,
      sendClientCertificate: true,
      keyStore: { certificate: identity!.certificate, privateKey: identity!.privateKey },
    },
  };
  const loaded = await loadConfig(config, { baseDir: options.baseDir });
  const client = await connectSecure(loaded, { backoff: { minMs: 200, maxMs: 2000 } });
  const run = randomBytes(4).toString("hex");
  const mark = `"run":"${run}"`;
  const seen = new Set<string>();
  let wake: (() => void) | undefined;
  client.on("message", (topic, payload) => {
    const text = payload.toString();
    if (!text.includes(mark)) return;
    seen.add(`${topic} ${text}`);
    wake?.();
  });
  const grant = await client.subscribe("fleet/+/telemetry", { qos: 1 }).then(
    ([first]) => first,
    async (error: unknown) => {
      await client.end(true);
      throw error;
    },
  );
  if (!grant || grant.qos === 128) {
    await client.end(true);
    throw new Error("the broker refused the monitor's subscription to fleet/+/telemetry (its ACL?)");
  }
  return {
    run,
    async close() {
      await client.end(true);
      // The broker keeps a persistent session (and queues for it) until a clean one replaces it.
      const clean = await connectSecure(
        { ...config, broker: { ...config.broker, cleanSession: true } },
        {
          baseDir: options.baseDir,
        },
      ).catch(() => undefined);
      await clean?.end();
    },
    missing: (messages) => messages.filter((message) => !seen.has(message)),
    async caughtUp(expected, quietMs) {
      // A loaded broker delivers late, not never: wait while messages still come, until `quietMs` without one
      // (at most a minute).
      const deadline = performance.now() + 60_000;
      let count = seen.size;
      let lastNew = performance.now();
      while (seen.size < expected && performance.now() < deadline && performance.now() - lastNew < quietMs) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
        if (seen.size > count) {
          count = seen.size;
          lastNew = performance.now();
        }
      }
      wake = undefined;
      return seen.size;
    },
  };
}
