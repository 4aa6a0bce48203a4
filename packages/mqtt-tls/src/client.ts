import {
  FINDING_CATALOGUE,
  createFinding,
  orderFindings,
  type Finding,
  type FindingCode,
} from "@proj/findings";
import {
  defaultPort,
  isLoadedConfig,
  loadConfig,
  toTlsOptions,
  type BrokerUrl,
  type Profile,
  type ResolvedConfig,
  type ValidateOptions,
  type ValidationResult,
} from "@proj/security-config";
import {
  MqttClient,
  type IStore,
  type IClientPublishOptions,
  type IClientSubscribeOptions,
  type ISubscriptionGrant,
  type Packet,
} from "mqtt";
import createDebug from "debug";
import { EventEmitter } from "node:events";
import { isAbsolute, join } from "node:path";
import { connect as connectTcp } from "node:net";
import {
  connect as connectTls,
  createSecureContext,
  type ConnectionOptions,
  type SecureContext,
  type TLSSocket,
} from "node:tls";
import { WebSocket, createWebSocketStream } from "ws";
import { diagnose, explainedBy, summarizeChain, type CertificateSummary } from "./diagnose.js";
import { MqttTlsError } from "./errors.js";
import type { SecurityEvent, SecurityEventSink } from "./security-events.js";
import { probeResolved, type TlsInfo } from "./probe.js";
import { REFUSED_AFTER_CLOSES, RefusedPublishTracker } from "./refused-publish.js";
import { topicForDisplay, topicProblem } from "./topics.js";
import { CredentialWatcher } from "./credential-watcher.js";
import { ExpiryMonitor, type WatchedCertificate } from "./expiry-monitor.js";
import { InflightGate } from "./inflight-gate.js";
import { RenewalTimer } from "./renewal-timer.js";
import { ReconnectPolicy, type BackoffOptions } from "./reconnect-policy.js";

/** Where the connection is. */
export type ClientState = "connecting" | "connected" | "reconnecting" | "offline" | "closed";

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

/** Topic names already found valid (bounded; shared by every client of the process, as topics are). */
const checkedNames = new Set<string>();

/** The coded error for a topic MQTT does not allow (a broker would close the connection on it), or undefined. */
function topicError(topic: string, kind: "name" | "filter"): MqttTlsError | undefined {
  // Devices publish to the same few topics again and again: a name checked once is not checked on every publish.
  if (kind === "name" && checkedNames.has(topic)) return undefined;
  const problem = topicProblem(topic, kind);
  if (problem === undefined) {
    if (kind === "name" && checkedNames.size < 4096) checkedNames.add(topic);
    return undefined;
  }
  return new MqttTlsError("TOPIC_INVALID", `"${topicForDisplay(topic)}": ${problem}.`, {
    remedy: FINDING_CATALOGUE.TOPIC_INVALID.remedy,
  });
}

/**
 * What a credential reload may not change on a running client: where it connects and how it protects that
 * connection (its credentials were given for that connection). `undefined` when nothing of it changed.
 */
function connectionChange(current: ResolvedConfig, next: ResolvedConfig): Finding | undefined {
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

/** The error of a publish the broker refused by closing the connection each time it got it. */
function refusedError(topic: string, cause: unknown): MqttTlsError {
  return new MqttTlsError(
    "PUBLISH_REJECTED",
    `The broker closed the connection each time it got the message to "${topicForDisplay(topic)}" (${REFUSED_AFTER_CLOSES} times): it refuses it, so it is not sent again.`,
    { remedy: FINDING_CATALOGUE.PUBLISH_REJECTED.remedy, cause },
  );
}

/** Recently seen broker chains, summarized, by the leaf's SHA-256 fingerprint (bounded; read only). */
const peerChains = new Map<string, CertificateSummary[]>();

/** Security event mnemonics for failed connections, by diagnosis code. */
const FAILURE_EVENTS: Partial<
  Record<FindingCode, [SecurityEvent["domain"], string, SecurityEvent["severity"]]>
> = {
  SERVER_CERT_UNTRUSTED: ["certificate", "PEER_CERT_UNTRUSTED", "alarm"],
  SERVER_CERT_EXPIRED: ["certificate", "PEER_CERT_EXPIRED", "alarm"],
  SERVER_CERT_REVOKED: ["certificate", "PEER_CERT_REVOKED", "alarm"],
  SERVER_NAME_MISMATCH: ["certificate", "PEER_NAME_MISMATCH", "alarm"],
  PINNED_CERT_MISMATCH: ["certificate", "PEER_PIN_MISMATCH", "alarm"],
  CLIENT_CERT_REQUIRED: ["certificate", "OWN_CERT_MISSING", "alarm"],
  CLIENT_CERT_REJECTED: ["certificate", "OWN_CERT_REJECTED", "alarm"],
  TLS_VERSION_MISMATCH: ["tls", "TLS_VERSION_REFUSED", "alarm"],
  CIPHER_MISMATCH: ["tls", "TLS_CIPHER_REFUSED", "alarm"],
  TLS_EXPECTED: ["tls", "TLS_NOT_USED", "alarm"],
  NOT_TLS: ["tls", "TLS_NOT_OFFERED", "alarm"],
};

const RESOLVED: Promise<void> = Promise.resolve();

/** Codes after which retrying at once cannot help: wait the maximum backoff instead of a retry storm. */
const PERMANENT: ReadonlySet<FindingCode> = new Set<FindingCode>([
  "SERVER_CERT_UNTRUSTED",
  "SERVER_CERT_EXPIRED",
  "SERVER_NAME_MISMATCH",
  "SERVER_CERT_REVOKED",
  "PINNED_CERT_MISMATCH",
  "CLIENT_CERT_REQUIRED",
  "CLIENT_CERT_REJECTED",
  "TLS_VERSION_MISMATCH",
  "CIPHER_MISMATCH",
  "TLS_EXPECTED",
  "NOT_TLS",
  "MQTT_CONNECT_REFUSED",
]);

/** Starts a client's first connection: set by the class itself, so `start` is no method of its public API. */
let startClient: (client: SecureClient) => Promise<void>;

/**
 * A connection to an MQTT broker over TLS, from {@link connectSecure}.
 *
 * @example
 * ```ts
 * await using client = await connectSecure(config);
 * client.on("state", (state) => console.log(state, client.lossOfCommunication));
 * ```
 */
export class SecureClient extends EventEmitter<{
  message: [topic: string, payload: Buffer, packet: Packet];
  state: [state: ClientState, previous: ClientState];
  diagnosis: [finding: Finding];
  securityEvent: [event: SecurityEvent];
}> {
  #state: ClientState = "connecting";
  #tlsInfo: TlsInfo | undefined;
  #diagnosis: Finding | undefined;
  #offlineSince: Date | undefined;
  #urlIndex = 0;
  readonly #reconnect: ReconnectPolicy;
  #session: Buffer | undefined;
  #secureContext: SecureContext | undefined;
  #tlsOptions: ConnectionOptions | undefined;
  readonly #gate: InflightGate;
  #watcher: CredentialWatcher | undefined;
  #nextConnection: Promise<void> | undefined;
  #replayed: Promise<void> | undefined;
  #ended = false;
  #resolved: ResolvedConfig;
  #profile: Profile;
  /** When the current connection attempt started, and whether its TLS handshake completed. */
  #attempt: { started: number; connected: boolean; secured: boolean } | undefined;
  readonly #refusals = new RefusedPublishTracker();
  /** What this client subscribed to, to subscribe again when a broker kept no session for it. */
  readonly #subscriptions = new Map<string, IClientSubscribeOptions>();
  #connectedOnce = false;
  /** Topics of messages given up on as refused, until their `publish` has rejected. */
  readonly #refusedTopics: string[] = [];
  /** What loading the configuration found: a failed connection that follows from one of these says so. */
  #configFindings: readonly Finding[];
  readonly #config: unknown;
  readonly #options: SecureClientOptions;
  readonly #expiry = new ExpiryMonitor(
    () => this.#expiringCertificates(),
    () => this.#resolved.config.security.expiryWarningDays,
    (certificate, daysLeft) => this.#expiresSoon(certificate, daysLeft),
  );
  readonly #renewal = new RenewalTimer();
  readonly #crlRefresh = new RenewalTimer();
  #socket: TLSSocket | undefined;
  #plannedReconnect = false;
  #lastProtocol: string | undefined;
  /** The mqtt.js client underneath: an escape hatch. */
  readonly mqtt: MqttClient;

  constructor(
    config: unknown,
    resolved: ResolvedConfig,
    profile: Profile,
    options: SecureClientOptions,
    configFindings: readonly Finding[] = [],
  ) {
    super();
    this.#config = config;
    this.#resolved = resolved;
    this.#profile = profile;
    this.#configFindings = configFindings;
    this.#options = options;
    const contradiction = resolved.urls.find((u) => u.tls !== resolved.config.security.enableTls);
    if (contradiction) {
      // Whatever else is allowed, credentials never go over a plain connection the configuration did not ask for.
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
    try {
      this.#loadCredentials();
    } catch (error) {
      // The TLS stack refuses the key itself (too small for its security level, say): named, never raw.
      const finding = diagnose(
        {
          phase: "tls",
          code: (error as NodeJS.ErrnoException).code,
          message: (error as Error).message,
          localKey: true,
        },
        resolved,
        this.#currentUrl(),
      );
      throw new MqttTlsError(finding.code, finding.message, {
        remedy: finding.remedy,
        findings: [finding],
        cause: error,
      });
    }
    const { broker } = resolved.config;
    this.mqtt = new MqttClient(() => this.#createStream(), {
      protocolVersion: broker.protocolVersion,
      ...(broker.clientId !== undefined ? { clientId: broker.clientId } : {}),
      ...(broker.username !== undefined ? { username: broker.username } : {}),
      // As bytes: mqtt-packet's debug log prints a password given as a string.
      ...(broker.password !== undefined ? { password: Buffer.from(broker.password, "utf8") } : {}),
      // Off the publish path unless the debug log is on: mqtt.js logs several times per message.
      log: mqttDebug.enabled ? mqttLog : ignoreLog,
      keepalive: broker.keepaliveSeconds,
      clean: broker.cleanSession,
      connectTimeout: broker.connectTimeoutMs,
      reconnectPeriod: 0,
      // mqtt.js remembers subscriptions only with its own reconnect (reconnectPeriod > 0): this client keeps them.
      resubscribe: false,
      queueQoSZero: false,
      manualConnect: true,
      ...(options.outgoingStore ? { outgoingStore: options.outgoingStore } : {}),
    });
    const replay = options.outgoingStore?.drained?.();
    if (replay) this.#replayed = replay.then(() => void (this.#replayed = undefined));
    this.mqtt.on("message", (topic, payload, packet) => this.emit("message", topic, payload, packet));
    this.mqtt.on("error", () => undefined); // failures are diagnosed on close
    this.mqtt.on("connect", (connack) => {
      // A broker that kept no session for us (clean session, or it lost it) gets our subscriptions again.
      if (this.#connectedOnce && !connack.sessionPresent && this.#subscriptions.size > 0)
        this.mqtt.subscribe(Object.fromEntries(this.#subscriptions), (error) => {
          if (error) this.#security("connection", "RESUBSCRIBE_FAILED", "warning", { reason: error.message });
        });
      this.#connectedOnce = true;
      this.#reconnect.connected();
      this.#offlineSince = undefined;
      this.#diagnosis = undefined;
      this.#setState("connected");
      this.#onSecured();
      this.#expiry.check();
    });
    this.mqtt.on("packetsend", (packet) => {
      if (packet.cmd === "publish" && packet.qos > 0 && packet.messageId !== undefined)
        this.#refusals.sent(packet.messageId, packet.topic);
    });
    this.mqtt.on("packetreceive", (packet) => {
      if ((packet.cmd === "puback" || packet.cmd === "pubrec") && packet.messageId !== undefined)
        this.#refusals.acknowledged(packet.messageId);
    });
    this.mqtt.on("close", () => {
      this.#dropRefused();
      void this.#onClose();
    });
    this.#gate = new InflightGate(options.maxInflight ?? 1000);
    this.#reconnect = new ReconnectPolicy(options.backoff);
    if (options.watchCredentials) this.#watchCredentialFiles();
  }

  /** Builds (or rebuilds) the TLS context from the key store and trust store: the next handshake uses it. */
  #loadCredentials(): void {
    const url = this.#currentUrl();
    this.#tlsOptions = url.tls ? toTlsOptions(this.#resolved, url) : undefined;
    const o = this.#tlsOptions;
    // A stale CRL would make OpenSSL refuse every handshake: leave it out (revocation is then unknown, and the
    // CRL_EXPIRED / CRL_STALE warnings say so) rather than drop the session, as IEC 62351-3 asks.
    const now = new Date();
    const freshCrls = this.#resolved.crls
      .filter((c) => c.info.nextUpdate === undefined || c.info.nextUpdate > now)
      .map((c) => c.info.pem);
    this.#secureContext = o
      ? createSecureContext({
          ...(o.ca ? { ca: o.ca } : {}),
          ...(o.cert ? { cert: o.cert } : {}),
          ...(o.key ? { key: o.key } : {}),
          ...(o.passphrase !== undefined ? { passphrase: o.passphrase } : {}),
          ...(freshCrls.length > 0 ? { crl: freshCrls } : {}),
          ...(o.ciphers ? { ciphers: o.ciphers } : {}),
          ...(o.minVersion ? { minVersion: o.minVersion } : {}),
          ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
        })
      : undefined;
    this.#session = undefined;
  }

  #currentUrl(): BrokerUrl {
    return this.#resolved.urls[this.#urlIndex % this.#resolved.urls.length]!;
  }

  #createStream() {
    const url = this.#currentUrl();
    const port = defaultPort(url);
    const attempt = { started: Date.now(), connected: false, secured: false };
    this.#attempt = attempt;
    if (url.scheme === "ws" || url.scheme === "wss") {
      // mqtt.js forwards only six TLS options over wss; here every one is.
      const o = this.#tlsOptions ?? {};
      const tlsForWs = url.tls ? ({ ...o, secureContext: this.#secureContext } as ConnectionOptions) : {};
      const socket = new WebSocket(url.raw, "mqtt", tlsForWs);
      socket.on("upgrade", (response) => this.#recordTls(response.socket as TLSSocket));
      return createWebSocketStream(socket);
    }
    if (!url.tls) {
      const plain = connectTcp({ host: url.host, port });
      plain.once("connect", () => (attempt.connected = true));
      return plain;
    }
    const o = this.#tlsOptions!;
    const socket = connectTls({
      host: url.host,
      port,
      secureContext: this.#secureContext!,
      rejectUnauthorized: o.rejectUnauthorized ?? true,
      ...(o.servername !== undefined ? { servername: o.servername } : {}),
      ...(o.checkServerIdentity ? { checkServerIdentity: o.checkServerIdentity } : {}),
      ...(o.ALPNProtocols ? { ALPNProtocols: o.ALPNProtocols } : {}),
      ...(this.#session ? { session: this.#session } : {}),
    });
    // PUBLISH/PUBACK is request and response: small packets should not wait for Nagle's algorithm.
    socket.setNoDelay(true);
    this.#socket = socket;
    socket.on("session", (session: Buffer) => (this.#session = session));
    socket.once("connect", () => (attempt.connected = true));
    socket.once("secureConnect", () => this.#recordTls(socket));
    return socket;
  }

  #recordTls(socket: TLSSocket): void {
    if (this.#attempt) {
      this.#attempt.connected = true;
      this.#attempt.secured = true;
    }
    if (typeof socket.getProtocol !== "function") return;
    const sessionReused = socket.isSessionReused();
    // Clients of one broker see one chain: summarize it once (the detailed peer chain is costly to build).
    const leaf = socket.getPeerCertificate(false);
    const fingerprint = "fingerprint256" in leaf ? leaf.fingerprint256 : undefined;
    let presented = fingerprint ? peerChains.get(fingerprint) : undefined;
    if (!presented) {
      presented = summarizeChain(socket.getPeerCertificate(true));
      if (fingerprint && presented.length > 0) {
        peerChains.set(fingerprint, presented);
        if (peerChains.size > 64) peerChains.delete(peerChains.keys().next().value!);
      }
    }
    this.#tlsInfo = {
      protocol: socket.getProtocol() ?? undefined,
      cipher: socket.getCipher()?.name,
      // A resumed session carries no certificates: it is the session the full handshake authenticated.
      peerChain: presented.length === 0 && sessionReused ? (this.#tlsInfo?.peerChain ?? []) : presented,
      sessionReused,
    };
  }

  #setState(state: ClientState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.emit("state", state, previous);
  }

  /** Diagnoses a failed attempt by probing the broker once (the handshake error alone cannot tell a wrong CA from a missing one). */
  async #diagnoseFailure(): Promise<Finding> {
    const url = this.#currentUrl();
    const timeoutMs = this.#resolved.config.broker.connectTimeoutMs;
    const attempt = this.#attempt;
    // (WebSocket attempts do not say how far they got: those are probed.)
    if (attempt && !url.scheme.startsWith("ws") && Date.now() - attempt.started >= timeoutMs - 50) {
      // The attempt ran out of time: say so with its own deadline, rather than probing for as long again.
      const failure = {
        // WebSocket attempts do not tell TCP from TLS: they count as past TCP.
        phase:
          !attempt.connected && !url.scheme.startsWith("ws")
            ? "tcp"
            : attempt.secured || !url.tls
              ? "mqtt"
              : "tls",
        timedOut: true,
        timeoutMs,
      } as const;
      return explainedBy(diagnose(failure, this.#resolved, url), this.#configFindings);
    }
    const result = await probeResolved(
      this.#resolved,
      url,
      Math.min(this.#resolved.config.broker.connectTimeoutMs, 5000),
    );
    const finding =
      result.findings[0] ??
      diagnose({ phase: "mqtt", message: "the connection closed before CONNACK" }, this.#resolved, url);
    return explainedBy(finding, this.#configFindings);
  }

  async #onClose(): Promise<void> {
    if (this.#ended) return;
    const wasConnected = this.#state === "connected";
    this.#offlineSince ??= new Date();
    let permanent = false;
    if (!wasConnected) {
      const finding = await this.#diagnoseFailure();
      if (this.#ended) return;
      permanent = PERMANENT.has(finding.code);
      if (this.#diagnosis?.code !== finding.code) {
        this.emit("diagnosis", finding);
        const [domain, mnemonic, severity] = FAILURE_EVENTS[finding.code] ?? [
          "connection",
          "CONNECTION_FAILED",
          "warning",
        ];
        this.#security(domain, mnemonic, severity, { code: finding.code, url: this.#currentUrl().display });
      }
      this.#diagnosis = finding;
      // Fail over to the next broker URL after a failed attempt.
      if (this.#resolved.urls.length > 1) {
        this.#urlIndex++;
        this.#loadCredentials();
      }
      // A "diagnosis" listener may have ended the client (a refused first connect does): no timer may outlive it.
      if (this.#ended) return;
    }
    // Scheduled first, so a `state` listener sees this attempt counted (and may still end the client).
    this.#reconnect.schedule(
      () => {
        if (this.#ended) return;
        // Keep the stores: mqtt.js's reconnect() without them would drop queued QoS 1/2 messages.
        this.mqtt.reconnect({
          incomingStore: this.mqtt.incomingStore,
          outgoingStore: this.mqtt.outgoingStore,
        });
      },
      { wasConnected, permanent },
    );
    this.#setState(permanent ? "offline" : "reconnecting");
  }

  #watchCredentialFiles(): void {
    const { security } = this.#resolved.config;
    const values = [
      ...(security.trustStore === undefined
        ? []
        : Array.isArray(security.trustStore)
          ? security.trustStore
          : [security.trustStore]),
      security.keyStore?.certificate,
      security.keyStore?.privateKey,
      security.keyStore?.pkcs12,
      ...security.crl,
    ].filter((v): v is string => v !== undefined && !v.includes("-----BEGIN "));
    this.#watcher = new CredentialWatcher(
      values.map((v) => (isAbsolute(v) ? v : join(this.#resolved.baseDir, v))),
      () => void this.#reloadChanged().catch(() => undefined),
    );
  }

  async #reloadChanged(): Promise<void> {
    if (this.#ended) return;
    const { ok, findings } = await this.reloadCredentials();
    if (this.#ended) return;
    if (ok) {
      this.#security("certificate", "CREDENTIALS_RELOADED", "notice", {
        files: "key store, trust store, CRLs",
      });
      return;
    }
    const errors = findings.filter((f) => f.severity === "error");
    this.#security("certificate", "CREDENTIALS_RELOAD_FAILED", "warning", {
      code: errors[0]?.code ?? "",
      reason: errors[0]?.message ?? "",
    });
    for (const finding of errors) this.emit("diagnosis", finding);
  }

  /** Emits a security event and hands it to every sink; a failing sink never affects the connection. */
  #security(
    domain: SecurityEvent["domain"],
    mnemonic: string,
    severity: SecurityEvent["severity"],
    detail: SecurityEvent["detail"],
  ): void {
    const event: SecurityEvent = { domain, mnemonic, severity, time: new Date(), detail };
    this.emit("securityEvent", event);
    const sinks = this.#options.securityEvents;
    for (const sink of sinks === undefined ? [] : typeof sinks === "function" ? [sinks] : sinks) {
      try {
        void Promise.resolve(sink(event)).catch(() => undefined);
      } catch {
        // a sink must not break the client
      }
    }
  }

  /** After each CONNACK: the handshake event, a TLS version change, the profile's chain size limit, the renewal timer. */
  #onSecured(): void {
    const info = this.#tlsInfo;
    if (!info || !this.#currentUrl().tls) return;
    this.#security("tls", this.#plannedReconnect ? "SESSION_RENEWED" : "TLS_HANDSHAKE_OK", "notice", {
      protocol: info.protocol ?? "",
      cipher: info.cipher ?? "",
      peer: info.peerChain[0]?.subject ?? "",
      sessionReused: info.sessionReused,
    });
    this.#plannedReconnect = false;
    if (this.#lastProtocol !== undefined && info.protocol !== this.#lastProtocol) {
      this.#security("tls", "TLS_VERSION_CHANGED", "warning", {
        from: this.#lastProtocol,
        to: info.protocol ?? "",
      });
    }
    this.#lastProtocol = info.protocol;

    const limit =
      this.#profile.severities.CERT_TOO_LARGE === "error" ? this.#profile.parameters.maxCertBytes : undefined;
    const oversized = limit === undefined ? undefined : info.peerChain.find((c) => c.derBytes > limit);
    if (oversized && limit !== undefined) {
      this.#security("certificate", "PEER_CERT_TOO_LARGE", "alarm", {
        subject: oversized.subject,
        bytes: oversized.derBytes,
        limit,
      });
      const finding = createFinding(
        "CERT_TOO_LARGE",
        "error",
        `The broker's certificate "${oversized.subject}" is ${oversized.derBytes} bytes; the ${this.#profile.id} profile allows ${limit}.`,
        { remedy: "Have the broker's certificate reissued smaller, or use a profile without the limit." },
      );
      this.#diagnosis = finding;
      this.emit("diagnosis", finding);
      void this.end(true);
      return;
    }
    this.#scheduleRenewal();
    this.#scheduleCrlRefresh();
  }

  /**
   * CRL refresh (IEC 62351-3): on the interval the CRLs are read again and the session is renewed with a new
   * handshake that checks them. A stale or unreadable CRL is a warning and never drops the session.
   */
  #scheduleCrlRefresh(): void {
    const { crlRefreshHours, crl } = this.#resolved.config.security;
    this.#crlRefresh.schedule(
      crl.length === 0 ? undefined : crlRefreshHours,
      () => void this.#refreshCrls().catch(() => undefined),
    );
  }

  async #refreshCrls(): Promise<void> {
    if (this.#ended || this.#state !== "connected") return;
    const reload = await this.reloadCredentials();
    if (this.#ended) return;
    const stale = reload.findings.filter(
      (f) => f.code === "CRL_EXPIRED" || f.path?.startsWith("security.crl"),
    );
    if (!reload.ok || stale.length > 0) {
      this.#security("certificate", "CRL_STALE", "warning", {
        reason: (stale[0] ?? reload.findings[0])?.message ?? "the CRL could not be reloaded",
      });
      this.#scheduleCrlRefresh();
      return;
    }
    this.#security("certificate", "CRL_RELOADED", "notice", { crls: this.#resolved.crls.length });
    this.#plannedReconnect = true;
    this.#socket?.destroy();
  }

  /**
   * Session renewal (IEC 62351-3): TLS 1.2 renegotiates on the interval; TLS 1.3 has no renegotiation and Node no
   * KeyUpdate API, so the client reconnects on the interval and resumes the session (new keys, same identity).
   */
  #scheduleRenewal(): void {
    this.#renewal.schedule(this.#resolved.config.security.renegotiationIntervalHours, () => {
      const socket = this.#socket;
      if (this.#ended || !socket || this.#state !== "connected") return;
      const reconnect = () => {
        this.#plannedReconnect = true;
        socket.destroy();
      };
      if (socket.getProtocol() !== "TLSv1.2") return reconnect();
      const started = socket.renegotiate(
        { rejectUnauthorized: this.#tlsOptions?.rejectUnauthorized ?? true },
        (error) => {
          if (error) {
            this.#security("tls", "SESSION_RENEGOTIATION_FAILED", "warning", { reason: error.message });
            reconnect();
          } else {
            this.#security("tls", "SESSION_RENEGOTIATED", "notice", { protocol: "TLSv1.2" });
            this.#scheduleRenewal();
          }
        },
      );
      if (!started) reconnect();
    });
  }

  /** The certificates whose expiry is watched: the client's own and the broker's (once seen). */
  #expiringCertificates(): WatchedCertificate[] {
    const own = this.#resolved.keyStore?.leaf;
    const broker = this.#tlsInfo?.peerChain[0];
    return [
      ...(own ? [{ role: "client certificate", subject: own.subject, validTo: own.notAfter }] : []),
      ...(broker
        ? [{ role: "broker's certificate", subject: broker.subject, validTo: new Date(broker.validTo) }]
        : []),
    ];
  }

  /** Warns (CERT_EXPIRES_SOON) as a security event and a diagnosis. */
  #expiresSoon({ role, subject, validTo }: WatchedCertificate, daysLeft: number): void {
    this.#security("certificate", "CERT_EXPIRES_SOON", "warning", { certificate: role, subject, daysLeft });
    this.emit(
      "diagnosis",
      createFinding(
        "CERT_EXPIRES_SOON",
        "warning",
        `The ${role} "${subject}" expires in ${daysLeft} day(s), on ${validTo.toISOString()}.`,
        { remedy: "Renew it before then; reloadCredentials() picks up the new files without a restart." },
      ),
    );
  }

  /**
   * Reads the key store, trust store and CRLs again (after a certificate rotation): the next handshake uses them,
   * the current connection and queued messages are kept. When the new files do not validate, nothing changes and
   * the findings say why.
   *
   * @example
   * ```ts
   * const { ok, findings } = await client.reloadCredentials();
   * ```
   */
  async reloadCredentials(): Promise<{ ok: boolean; findings: Finding[] }> {
    const source = isLoadedConfig(this.#config) ? (this.#config.file ?? this.#config.input) : this.#config;
    const options = isLoadedConfig(this.#config)
      ? { ...this.#config.options, ...this.#options }
      : this.#options;
    const validation = await loadConfig(source as object | string, options);
    if (this.#ended) return { ok: false, findings: validation.findings };
    if (!validation.resolved || !validation.ok) return { ok: false, findings: validation.findings };
    const downgrade = connectionChange(this.#resolved, validation.resolved);
    if (downgrade) return { ok: false, findings: [downgrade, ...validation.findings] };
    const previous = { resolved: this.#resolved, profile: this.#profile };
    this.#resolved = validation.resolved;
    this.#profile = validation.profile;
    try {
      this.#loadCredentials();
    } catch (error) {
      // A key the TLS stack refuses (too small for its security level, say): keep what works.
      this.#resolved = previous.resolved;
      this.#profile = previous.profile;
      this.#loadCredentials();
      const code = (error as NodeJS.ErrnoException).code;
      const finding = diagnose(
        { phase: "tls", code, message: (error as Error).message, localKey: true },
        validation.resolved,
        this.#currentUrl(),
      );
      return { ok: false, findings: [finding, ...validation.findings] };
    }
    this.#configFindings = [...validation.findings, ...(this.#options.explainWith ?? [])];
    return { ok: true, findings: validation.findings };
  }

  // Reached by connectSecure only (see startClient below): not part of the client's API.
  static {
    startClient = (client) => client.#start();
  }

  /** Starts the first connection; resolves on CONNACK, rejects with the first attempt's diagnosis. */
  #start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onState = (state: ClientState) => {
        if (state === "connected") {
          this.off("state", onState);
          this.off("diagnosis", onDiagnosis);
          resolve();
        }
      };
      const onDiagnosis = (finding: Finding) => {
        if (this.#options.retryFirstConnect || finding.severity !== "error") return;
        this.off("state", onState);
        this.off("diagnosis", onDiagnosis);
        void this.end(true);
        // The report leads with the cause when the configuration holds it; the error keeps the live code.
        const cause = this.#configFindings.find((f) => f.code === finding.causedBy);
        reject(
          new MqttTlsError(finding.code, finding.message, {
            remedy: finding.remedy,
            findings: cause ? orderFindings([cause, finding]) : [finding],
          }),
        );
      };
      this.on("state", onState);
      this.on("diagnosis", onDiagnosis);
      this.mqtt.connect();
    });
  }

  get state(): ClientState {
    return this.#state;
  }
  /** Protocol, cipher, the broker's chain and whether the TLS session was resumed, for the current connection. */
  get tlsInfo(): TlsInfo | undefined {
    return this.#tlsInfo;
  }
  /** The diagnosis of the last failed attempt, while not connected. */
  get diagnosis(): Finding | undefined {
    return this.#diagnosis;
  }
  /** Since when communication is lost, and how many attempts were made since. */
  get lossOfCommunication(): { since: Date; attempts: number } | undefined {
    return this.#offlineSince && this.#state !== "connected"
      ? { since: this.#offlineSince, attempts: this.#reconnect.attempts }
      : undefined;
  }

  /** Settles on the next connection (rejects if the client is closed first); one promise for every waiter. */
  #whenReconnected(): Promise<void> {
    this.#nextConnection ??= new Promise<void>((resolve, reject) => {
      const onState = (state: ClientState) => {
        if (state !== "connected" && state !== "closed") return;
        this.off("state", onState);
        this.#nextConnection = undefined;
        if (state === "connected") resolve();
        else reject(new Error("closed"));
      };
      this.on("state", onState);
    });
    return this.#nextConnection;
  }

  /**
   * Gives up on a message the broker closed the connection on {@link REFUSED_AFTER_CLOSES} times in a row: it is
   * taken out of the store (so it is not sent again) and its `publish` rejects with `PUBLISH_REJECTED`.
   */
  #dropRefused(): void {
    // Only a close the broker chose counts: not one this client asked for (end, a planned reconnect).
    if (this.#ended || this.#plannedReconnect) {
      this.#refusals.closed();
      return;
    }
    const refused = this.#refusals.closed();
    if (!refused || !this.mqtt.outgoing[refused.messageId]) return;
    this.#refusedTopics.push(refused.topic);
    this.mqtt.removeOutgoingMessage(refused.messageId);
    const finding = createFinding(
      "PUBLISH_REJECTED",
      "error",
      `The broker closed the connection each time it got the message to "${topicForDisplay(refused.topic)}" (${REFUSED_AFTER_CLOSES} times): it is dropped, not sent again.`,
      { remedy: FINDING_CATALOGUE.PUBLISH_REJECTED.remedy },
    );
    this.emit("diagnosis", finding);
    this.#security("connection", "PUBLISH_REJECTED", "warning", { topic: topicForDisplay(refused.topic) });
  }

  /** Sends one QoS 1/2 message in the slot the caller holds; the slot is freed on its acknowledgement. */
  #send(topic: string, payload: string | Buffer, options: IClientPublishOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.mqtt.publish(topic, payload, options, (error) => {
        this.#gate.release();
        const refusedAt = error?.message === "Message removed" ? this.#refusedTopics.indexOf(topic) : -1;
        if (refusedAt >= 0) {
          this.#refusedTopics.splice(refusedAt, 1);
          reject(refusedError(topic, error));
          return;
        }
        if (!error) resolve();
        // mqtt.js drops what waits behind a store replay when the connection closes again ("Connection closed"):
        // those messages were never stored, so they are sent again rather than lost. Only end() makes it final.
        else if (!this.#ended && error.message === "Connection closed")
          this.#whenReconnected()
            .then(() => this.publish(topic, payload, options))
            .then(resolve, () => reject(error));
        else reject(error);
      });
    });
  }

  /**
   * Publishes; resolves when the broker acknowledged (QoS 1/2) or at once (QoS 0). While offline, QoS 1/2 messages
   * queue (bounded by `maxInflight`, then `publish` waits for a free slot) and QoS 0 messages are dropped. The
   * QoS 0 path allocates nothing per message: a callback per QoS 0 publish costs mqtt.js most of its throughput.
   */
  publish(topic: string, payload: string | Buffer, options: IClientPublishOptions = {}): Promise<void> {
    const invalid = topicError(topic, "name");
    if (invalid) return Promise.reject(invalid);
    if ((options.qos ?? 0) === 0) {
      if (this.#state === "connected") this.mqtt.publish(topic, payload, options);
      return RESOLVED;
    }
    if (this.#replayed) return this.#replayed.then(() => this.publish(topic, payload, options));
    if (this.#gate.tryAcquire()) return this.#send(topic, payload, options);
    return this.#gate.acquire().then(() => this.#send(topic, payload, options));
  }

  subscribe(
    topic: string | string[],
    options: IClientSubscribeOptions = { qos: 1 },
  ): Promise<ISubscriptionGrant[]> {
    const invalid = [topic]
      .flat()
      .map((filter) => topicError(filter, "filter"))
      .find((error) => error !== undefined);
    if (invalid) return Promise.reject(invalid);
    return this.mqtt.subscribeAsync(topic, options).then((granted) => {
      for (const grant of granted)
        if (grant.qos !== 128) this.#subscriptions.set(grant.topic, { ...options, qos: grant.qos });
      return granted;
    });
  }

  async unsubscribe(topic: string | string[]): Promise<void> {
    await this.mqtt.unsubscribeAsync(topic);
    for (const filter of [topic].flat()) this.#subscriptions.delete(filter);
  }

  /** Ends the connection (after in-flight messages unless `force`); no reconnect follows. */
  async end(force = false): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#reconnect.cancel();
    this.#expiry.close();
    this.#renewal.cancel();
    this.#crlRefresh.cancel();
    this.#watcher?.close();
    await this.mqtt.endAsync(force).catch(() => undefined);
    this.#setState("closed");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.end(true);
  }
}

/**
 * Connects to the configured broker over TLS (mqtts:// or wss://, MQTT 3.1.1 or 5) and always settles: with a
 * connected {@link SecureClient}, or with an {@link MqttTlsError} whose code and message say why (validation errors
 * first, unless `allowConfigErrors`). Afterwards it reconnects with exponential backoff and full jitter, resumes
 * the TLS session, fails over across the URLs, and emits `state` and `diagnosis` events.
 *
 * @example
 * ```ts
 * const client = await connectSecure(await loadConfig("config/plc.json"));
 * client.on("message", (topic, payload) => console.log(topic, payload.toString()));
 * await client.subscribe("plant/line1/#");
 * await client.publish("plant/line1/level", "72.4", { qos: 1 });
 * ```
 * @throws {MqttTlsError} `CONFIG_INVALID` with the findings, or the diagnosis code of the first attempt.
 */
export async function connectSecure(
  config: unknown,
  options: SecureClientOptions = {},
): Promise<SecureClient> {
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
  const client = new SecureClient(config, validation.resolved, validation.profile, options, [
    ...validation.findings,
    ...(options.explainWith ?? []),
  ]);
  for (const finding of validation.findings.filter((f) => f.severity === "error"))
    client.emit("diagnosis", finding);
  await startClient(client);
  return client;
}
