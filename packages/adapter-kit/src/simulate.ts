import type { Finding } from "@proj/findings";
import type { SecureClient, SecureClientOptions, TlsInfo } from "@proj/mqtt-tls";
import {
  isLoadedConfig,
  loadConfig,
  withRules,
  withSettings,
  type LoadedConfig,
  type SecurityConfig,
  type TlsVersion,
} from "@proj/security-config";
import { randomBytes } from "node:crypto";
import { deviceFindings, sortTls, tlsRange } from "./check.js";
import { deviceRules, type Adapter, type SimulatedTag, type SimulationSpec } from "./define.js";
import { AdapterError } from "./errors.js";

/** Options of {@link simulateDevice}. */
export interface SimulateOptions extends Omit<SecureClientOptions, "rules"> {
  /** Time between two publish rounds (every tag once). @default 1000 */
  intervalMs?: number;
  /** Publish rounds before `done` settles; the device keeps its connection until `stop()`. @default unbounded */
  rounds?: number;
  /** @default the config's clientId, else `<adapter id>-sim-<random>` */
  clientId?: string;
  /** Overrides the adapter's simulation (topics, tags, QoS). */
  simulation?: Partial<SimulationSpec>;
}

/** What the simulated device does differently from the configuration, because the device would. */
export interface DeviceBehaviour {
  readonly tlsVersions: readonly TlsVersion[];
  readonly ciphers: string | null;
  readonly protocolVersion: 3 | 4 | 5;
  readonly alpn: readonly string[] | null;
  readonly checksCrl: boolean;
}

/** A running simulated device, from {@link simulateDevice}. */
export interface SimulatedDevice extends AsyncDisposable {
  readonly adapter: Adapter;
  readonly client: SecureClient;
  readonly clientId: string;
  /** Every finding of the pre-flight check, `DEVICE_UNSUPPORTED` gaps included. */
  readonly findings: readonly Finding[];
  readonly behaviour: DeviceBehaviour;
  /** What the TLS handshake negotiated. */
  readonly tlsInfo: TlsInfo | undefined;
  /** The topic of each tag. */
  readonly topics: readonly string[];
  /** Messages published so far. */
  readonly published: number;
  /** Settles after `rounds` publish rounds (never, without `rounds`, until `stop()`). */
  readonly done: Promise<void>;
  /** Publishes every tag once, now. */
  publishRound(): Promise<void>;
  /** Stops publishing and disconnects. */
  stop(): Promise<void>;
}

function valueOf(tag: SimulatedTag, round: number, index: number): number | boolean {
  switch (tag.kind) {
    case "boolean":
      return Math.floor(round / 5 + index) % 2 === 0;
    case "counter":
      return round;
    case "analog": {
      const min = tag.min ?? 0;
      const max = tag.max ?? 100;
      return Math.round((min + (max - min) * (0.5 + 0.5 * Math.sin(round / 8 + index))) * 100) / 100;
    }
  }
}

function deviceBehaviour(adapter: Adapter, config: SecurityConfig): DeviceBehaviour {
  const profile = adapter.profile;
  const { security, broker } = config;
  const device = sortTls(profile.tlsVersions);
  const asked = tlsRange(security.minTlsVersion, security.maxTlsVersion);
  const common = device.filter((v) => asked.includes(v));
  // A device speaks what it speaks: with no version in common it still offers its own, and the broker refuses.
  const tlsVersions = common.length > 0 ? common : device;
  const protocolVersion = profile.mqttVersions.includes(broker.protocolVersion)
    ? broker.protocolVersion
    : (Math.max(...profile.mqttVersions) as 3 | 4 | 5);
  const configured = security.ciphers;
  const ciphers = profile.cipherSuites
    ? configured !== null && profile.cipherSuites.some((c) => configured.split(":").includes(c))
      ? configured
      : profile.cipherSuites.join(":")
    : configured;
  const alpn = profile.supportsAlpn ? security.alpn : null;
  return { tlsVersions, ciphers, protocolVersion, alpn, checksCrl: profile.supportsCrl };
}

/**
 * The configuration as the device would use it: its TLS versions (those the configuration also allows, or its own
 * when there are none in common), its cipher suites, its MQTT version, no ALPN or CRL check unless it has them.
 * `parsed` is the same configuration after validation (defaults applied). The `device` field is dropped.
 *
 * @example
 * ```ts
 * const { resolved } = await loadConfig(config);
 * const { config: asNexto, behaviour } = asDevice(nexto, config, resolved!.config);
 * await probe(asNexto); // connects with TLS 1.2 only
 * ```
 */
export function asDevice(
  adapter: Adapter,
  config: unknown,
  parsed: SecurityConfig,
  clientId?: string,
): { config: Record<string, unknown>; behaviour: DeviceBehaviour } {
  const input = structuredClone(config) as Record<string, unknown>;
  const behaviour = deviceBehaviour(adapter, parsed);
  const security = { ...((input.security ?? {}) as Record<string, unknown>) };
  security.minTlsVersion = behaviour.tlsVersions[0];
  security.maxTlsVersion = behaviour.tlsVersions.at(-1);
  security.ciphers = behaviour.ciphers;
  security.alpn = behaviour.alpn;
  if (!behaviour.checksCrl) security.crl = [];
  const broker = { ...(input.broker ?? {}), protocolVersion: behaviour.protocolVersion };
  const effective: Record<string, unknown> = {
    ...input,
    broker: clientId === undefined ? broker : { ...broker, clientId },
    security,
  };
  delete effective.device;
  return { config: effective, behaviour };
}

/**
 * {@link asDevice} for a configuration already loaded: the same settings changed, nothing read again.
 *
 * @example
 * ```ts
 * const { loaded: asNexto } = loadedAsDevice(nexto, await loadConfig("plc.json"));
 * await probe(asNexto); // connects with TLS 1.2 only
 * ```
 */
export function loadedAsDevice(
  adapter: Adapter,
  loaded: LoadedConfig,
  clientId?: string,
): { loaded: LoadedConfig; behaviour: DeviceBehaviour | undefined } {
  if (!loaded.resolved) return { loaded, behaviour: undefined };
  const behaviour = deviceBehaviour(adapter, loaded.resolved.config);
  const device = withSettings(loaded, {
    broker: { protocolVersion: behaviour.protocolVersion, ...(clientId === undefined ? {} : { clientId }) },
    security: {
      minTlsVersion: behaviour.tlsVersions[0]!,
      maxTlsVersion: behaviour.tlsVersions.at(-1)!,
      ciphers: behaviour.ciphers,
      alpn: behaviour.alpn === null ? null : [...behaviour.alpn],
      ...(behaviour.checksCrl ? {} : { crl: [] as const }),
    },
  });
  return { loaded: device, behaviour };
}

/** A configuration as the device would use it: loaded once, checked as the device loads its files. */
export interface PreparedDevice {
  /** The configuration with the device's rules: its findings, `DEVICE_UNSUPPORTED` gaps included. */
  readonly validation: LoadedConfig;
  /** The configuration with the device's settings (TLS versions, suites, MQTT version, clientId). */
  readonly effective: LoadedConfig;
  readonly behaviour: DeviceBehaviour;
  readonly clientId: string;
}

/**
 * Loads a configuration as a device would: stops with `DEVICE_UNSUPPORTED` where the device would refuse its files
 * (key type, encoding, chain depth, size), and applies what it speaks (TLS versions, suites, MQTT version).
 *
 * @example
 * ```ts
 * const { effective, validation } = await prepareDevice(nexto, "plc.json");
 * ```
 * @throws {AdapterError} `DEVICE_UNSUPPORTED` or `CONFIG_INVALID`.
 */
export async function prepareDevice(
  adapter: Adapter,
  config: unknown,
  options: Omit<SimulateOptions, "intervalMs" | "rounds" | "simulation"> = {},
): Promise<PreparedDevice> {
  // Loaded once: the device's findings are added to it, and the device's settings applied to it, without reading again.
  const base = isLoadedConfig(config) ? config : await loadConfig(config as object | string, options);
  const validation = withRules(base, deviceRules(adapter));
  if (!validation.resolved || base.resolved === undefined) {
    throw new AdapterError("CONFIG_INVALID", "the configuration could not be read", {
      findings: validation.findings,
    });
  }
  const refused = deviceFindings(validation.resolved, adapter.profile, adapter.name).filter(
    // The profile is the model of the device, assumed facts included; a CRL it cannot check only weakens it.
    (gap) => gap.stage === "load" && gap.fact !== "supportsCrl",
  );
  if (refused.length > 0) {
    const findings = validation.findings.filter(
      (f) => f.code === "DEVICE_UNSUPPORTED" && refused.some((r) => r.finding.path === f.path),
    );
    throw new AdapterError(
      "DEVICE_UNSUPPORTED",
      `${adapter.name} would refuse its files: ${refused.map((r) => r.finding.message).join(" ")}`,
      { findings },
    );
  }
  const clientId =
    options.clientId ??
    validation.resolved.config.broker.clientId ??
    `${adapter.id}-sim-${randomBytes(3).toString("hex")}`;
  const { loaded: effective, behaviour } = loadedAsDevice(adapter, base, clientId);
  return { validation, effective, behaviour: behaviour!, clientId };
}

/**
 * The value a simulated tag has in a publish round: analog values follow a sine within their range, booleans
 * toggle every five rounds, counters count rounds.
 *
 * @example
 * ```ts
 * simulatedValue({ name: "level", kind: "analog", min: 0, max: 100 }, 3, 0);
 * ```
 */
export function simulatedValue(tag: SimulatedTag, round: number, index: number): number | boolean {
  return valueOf(tag, round, index);
}

/**
 * Connects to a broker exactly as the device would (its TLS versions, cipher suites, MQTT version, key types) and
 * publishes sample tags on the adapter's topic scheme, so a broker can be tested against a virtual device before
 * anyone travels to site. Gaps the device meets when loading its files (an unsupported key type, encoding, chain
 * depth, certificate size, client certificate) stop it before connecting, as the device's own tool would; gaps
 * met while negotiating (TLS version, suites, ALPN) are tried, and the broker's answer is diagnosed.
 *
 * @example
 * ```ts
 * await using plc = await simulateDevice(nexto, config, { baseDir: "config", intervalMs: 500, rounds: 10 });
 * console.log(plc.tlsInfo?.protocol, plc.topics); // "TLSv1.2", ["nexto/line1-nx3004/line1/tank-level", ...]
 * await plc.done;
 * ```
 * @throws {AdapterError} `DEVICE_UNSUPPORTED` (the device could not load its files) or `CONFIG_INVALID`.
 * @throws {MqttTlsError} the diagnosis of the connection (e.g. `TLS_VERSION_MISMATCH`, `CLIENT_CERT_REJECTED`).
 */
export async function simulateDevice(
  adapter: Adapter,
  config: unknown,
  options: SimulateOptions = {},
): Promise<SimulatedDevice> {
  const { validation, effective, behaviour, clientId } = await prepareDevice(adapter, config, options);

  const spec: SimulationSpec = {
    topicTemplate:
      options.simulation?.topicTemplate ??
      adapter.simulation?.topicTemplate ??
      `${adapter.id}/{clientId}/{tag}`,
    tags: options.simulation?.tags ?? adapter.simulation?.tags ?? [{ name: "heartbeat", kind: "counter" }],
    qos: options.simulation?.qos ?? adapter.simulation?.qos ?? 0,
  };
  const topics = spec.tags.map((tag) =>
    spec.topicTemplate.replaceAll("{clientId}", clientId).replaceAll("{tag}", tag.name),
  );

  // Loaded on first use: checking configurations against a device needs no MQTT client.
  const { connectSecure } = await import("@proj/mqtt-tls");
  // The device's own findings explain a live failure it predicts (a TLS version it cannot speak, say).
  const client = await connectSecure(effective, {
    ...options,
    explainWith: validation.findings.filter((f) => f.code === "DEVICE_UNSUPPORTED"),
  });
  let round = 0;
  let published = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));

  async function publishRound(): Promise<void> {
    const current = round++;
    const ts = new Date().toISOString();
    await Promise.all(
      spec.tags.map(async (tag, index) => {
        const payload = JSON.stringify({
          value: valueOf(tag, current, index),
          ...(tag.unit ? { unit: tag.unit } : {}),
          ts,
          quality: "good",
        });
        await client.publish(topics[index]!, payload, { qos: spec.qos ?? 0 });
        published++;
      }),
    );
  }

  const intervalMs = options.intervalMs ?? 1000;
  const tick = () => {
    if (stopped) return;
    publishRound()
      .catch(() => undefined) // a publish while offline is queued or dropped by the client; the next round retries
      .finally(() => {
        if (options.rounds !== undefined && round >= options.rounds) finish();
        else if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  tick();

  const stop = async () => {
    stopped = true;
    clearTimeout(timer);
    finish();
    await client.end();
  };
  return {
    adapter,
    client,
    clientId,
    findings: validation.findings,
    behaviour,
    get tlsInfo() {
      return client.tlsInfo;
    },
    topics,
    get published() {
      return published;
    },
    done,
    publishRound,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
