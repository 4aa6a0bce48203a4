import { createFinding, type Finding } from "@proj/findings";
import {
  defaultPort,
  isLoadedConfig,
  loadConfig,
  type ResolvedConfig,
  type ValidateOptions,
  type ValidationResult,
} from "@proj/security-config";
import createDebug from "debug";
import type { IClientOptions, IStore } from "mqtt";
import { MqttTlsError } from "./errors.js";
import type { BackoffOptions } from "./reconnect-policy.js";
import type { SecurityEventSink } from "./security-events.js";

/** Options of {@link connectSecure}. */
export interface SecureClientOptions extends ValidateOptions {
  /** Connect even when validation found errors (they are still emitted as `diagnosis`). @default false */
  allowConfigErrors?: boolean;
  /**
   * What `loadConfig(config, options)` returned for this very config, to connect without reading it again (a fleet
   * loads every device first, then connects them all). Passing the loaded configuration itself as `config` does the
   * same. @default loaded here
   */
  validation?: ValidationResult;
  /**
   * More findings that may explain a failed connection, besides the configuration's own: a device's rules, say
   * (`DEVICE_UNSUPPORTED` for a TLS version the device cannot speak explains its `TLS_VERSION_MISMATCH`). A
   * failure they explain carries `causedBy`, and the error of a refused first connect leads with the cause.
   */
  explainWith?: readonly Finding[];
  backoff?: BackoffOptions;
  /** QoS 1/2 messages outstanding at once (in flight plus queued); `publish()` waits beyond it. @default 1000 */
  maxInflight?: number;
  /** Keep trying on the first connection instead of rejecting with its diagnosis. @default false */
  retryFirstConnect?: boolean;
  /** Where security events go, besides the `securityEvent` event. */
  securityEvents?: SecurityEventSink | readonly SecurityEventSink[];
  /**
   * Where QoS 1/2 messages wait for their acknowledgement, e.g. a {@link FileStore} so they survive a restart of
   * this process. With a store that reports `drained()`, new QoS 1/2 publishes wait until the messages it held
   * at start are acknowledged (a new process would otherwise reuse their packet ids). @default in memory
   */
  outgoingStore?: IStore & { drained?(): Promise<void> };
  /**
   * Watch the key store, trust store and CRL files (polling their status once a second, which also sees a file
   * replaced by a rename and works on network file systems) and call `reloadCredentials()` when they change, after
   * a short settle time so a half-written file is not read. @default false
   */
  watchCredentials?: boolean;
  /**
   * The Will the broker publishes if this client goes away without a DISCONNECT. A function is called before every
   * CONNECT, so a Will that changes per session (a Sparkplug NDEATH with its bdSeq) is always current.
   */
  will?: ClientWill | (() => ClientWill);
  /** Overrides the configuration's `broker.cleanSession` (a protocol that requires a clean session sets it). */
  clean?: boolean;
}

/** A Will message, as mqtt.js takes it. */
export type ClientWill = NonNullable<IClientOptions["will"]>;

/**
 * The configuration `connectSecure` connects with: loaded here unless it comes loaded (or with `validation`), and
 * refused with `CONFIG_INVALID` (its errors as findings) when it has errors and `allowConfigErrors` is not set.
 *
 * @example
 * ```ts
 * const { resolved, profile, findings } = await configForConnect("config/plc.json", { baseDir: "." });
 * ```
 * @throws {MqttTlsError} `CONFIG_INVALID` with the errors.
 */
export async function configForConnect(
  config: unknown,
  options: SecureClientOptions,
): Promise<ValidationResult & { resolved: ResolvedConfig }> {
  const validation = isLoadedConfig(config)
    ? config
    : (options.validation ?? (await loadConfig(config as object | string, options)));
  if (!validation.resolved || (!validation.ok && !options.allowConfigErrors)) {
    const errors = validation.findings.filter((f) => f.severity === "error");
    throw new MqttTlsError(
      "CONFIG_INVALID",
      `the configuration has ${errors.length} error(s): ${errors.map((f) => f.code).join(", ")}`,
      {
        findings: errors,
        remedy: errors[0]?.remedy,
      },
    );
  }
  return validation as ValidationResult & { resolved: ResolvedConfig };
}

/**
 * Reads the configuration a client was started with again (for a credential reload): from its file, or the object
 * given, with the options it was loaded with and then the client's own.
 *
 * @example
 * ```ts
 * const validation = await reloadConfig(config, options);
 * ```
 */
export function reloadConfig(config: unknown, options: SecureClientOptions): Promise<ValidationResult> {
  const source = isLoadedConfig(config) ? (config.file ?? config.input) : config;
  return loadConfig(
    source as object | string,
    isLoadedConfig(config) ? { ...config.options, ...options } : options,
  );
}

/**
 * What a credential reload may not change on a running client: where it connects and how it protects that
 * connection (its credentials were given for that connection). The finding says which; `undefined` when nothing of
 * it changed.
 *
 * @example
 * ```ts
 * const downgrade = connectionChange(current, reloaded);
 * if (downgrade) console.error(downgrade.message); // the reload is refused: the client keeps what it had
 * ```
 */
export function connectionChange(current: ResolvedConfig, next: ResolvedConfig): Finding | undefined {
  const was = current.config.security;
  const now = next.config.security;
  const urls = (r: ResolvedConfig) => r.urls.map((u) => u.raw).join(" ");
  const changed =
    urls(current) !== urls(next)
      ? "the broker URL"
      : was.enableTls !== now.enableTls
        ? "enableTls"
        : was.checkServerCertificate !== now.checkServerCertificate
          ? "checkServerCertificate"
          : undefined;
  if (!changed) return undefined;
  return createFinding(
    now.enableTls && now.checkServerCertificate
      ? "FIELD_IGNORED"
      : now.enableTls
        ? "SERVER_CERT_CHECK_DISABLED"
        : "TLS_DISABLED",
    "error",
    `A credential reload does not change ${changed} of a running client: the new value is not applied.`,
    { remedy: "Restart the client (connectSecure again) to connect with the changed settings." },
  );
}

/**
 * Refuses (`URL_SCHEME_MISMATCH`) a broker URL whose scheme contradicts `enableTls`: whatever else is allowed,
 * credentials never go over a plain connection the configuration did not ask for.
 *
 * @example
 * ```ts
 * assertTlsAsConfigured(resolved); // throws for mqtt:// while enableTls is true
 * ```
 * @throws {MqttTlsError} `URL_SCHEME_MISMATCH`.
 */
export function assertTlsAsConfigured(resolved: ResolvedConfig): void {
  const contradiction = resolved.urls.find((u) => u.tls !== resolved.config.security.enableTls);
  if (!contradiction) return;
  throw new MqttTlsError(
    "URL_SCHEME_MISMATCH",
    `The broker URL ${contradiction.scheme}://${contradiction.host}:${defaultPort(contradiction)} ${contradiction.tls ? "asks for TLS while enableTls is false" : "is not TLS while the configuration asks for TLS: nothing is sent over it"}.`,
    {
      remedy: contradiction.tls
        ? 'Set "enableTls": true, or use the broker\'s plain URL.'
        : "Use the broker's TLS URL (mqtts:// or wss://, usually port 8883).",
    },
  );
}

const mqttDebug = createDebug("mqttjs:client");

const ignoreLog = (): void => undefined;

/** mqtt.js's debug log (`DEBUG=mqttjs*`) without the password its CONNECT packet carries. */
function mqttLog(format: unknown, ...args: unknown[]): void {
  if (!mqttDebug.enabled) return;
  mqttDebug(
    String(format),
    ...args.map((arg) =>
      arg !== null && typeof arg === "object" && "password" in arg ? { ...arg, password: "[redacted]" } : arg,
    ),
  );
}

/**
 * The mqtt.js options of a client of `resolved`: its broker settings, and no reconnect, resubscribe or QoS 0 queue
 * of mqtt.js's own (the client does those), connecting only when asked.
 *
 * @example
 * ```ts
 * const mqtt = new MqttClient(createStream, mqttClientOptions(resolved, options.outgoingStore));
 * ```
 */
export function mqttClientOptions(
  resolved: ResolvedConfig,
  outgoingStore?: IStore,
  session: { clean?: boolean | undefined } = {},
): IClientOptions {
  const { broker } = resolved.config;
  return {
    protocolVersion: broker.protocolVersion,
    ...(broker.clientId !== undefined ? { clientId: broker.clientId } : {}),
    ...(broker.username !== undefined ? { username: broker.username } : {}),
    // As bytes: mqtt-packet's debug log prints a password given as a string.
    ...(broker.password !== undefined ? { password: Buffer.from(broker.password, "utf8") } : {}),
    // Off the publish path unless the debug log is on: mqtt.js logs several times per message.
    log: mqttDebug.enabled ? mqttLog : ignoreLog,
    keepalive: broker.keepaliveSeconds,
    clean: session.clean ?? broker.cleanSession,
    connectTimeout: broker.connectTimeoutMs,
    reconnectPeriod: 0,
    // mqtt.js remembers subscriptions only with its own reconnect (reconnectPeriod > 0): this client keeps them.
    resubscribe: false,
    queueQoSZero: false,
    manualConnect: true,
    ...(outgoingStore ? { outgoingStore } : {}),
  };
}
