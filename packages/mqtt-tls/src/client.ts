import { createFinding, orderFindings, type Finding } from "@proj/findings";
import type { Profile, ResolvedConfig } from "@proj/security-config";
import {
  MqttClient,
  type IClientPublishOptions,
  type IClientSubscribeOptions,
  type ISubscriptionGrant,
  type Packet,
} from "mqtt";
import { EventEmitter } from "node:events";
import {
  assertTlsAsConfigured,
  configForConnect,
  connectionChange,
  mqttClientOptions,
  reloadConfig,
  type SecureClientOptions,
} from "./client-config.js";
import { reloadOnChange, type CredentialWatcher } from "./credential-watcher.js";
import { MqttTlsError } from "./errors.js";
import { ExpiryMonitor, expiresSoonFinding, watchedCertificates } from "./expiry-monitor.js";
import { diagnoseFailure, failureEvent, isPermanent } from "./failure-diagnosis.js";
import { HandshakeChecks } from "./handshake-checks.js";
import type { TlsInfo } from "./probe.js";
import { PublishGate, refusedFinding } from "./publish-gate.js";
import { ReconnectPolicy } from "./reconnect-policy.js";
import { securityReporter, type SecurityEvent, type SecurityReport } from "./security-events.js";
import { SessionRenewal } from "./session-renewal.js";
import { TlsTransport } from "./tls-transport.js";
import { BrokerNodes, type BrokerNodeHealth } from "./broker-nodes.js";
import { checkNode } from "./probe.js";
import { topicError, topicForDisplay } from "./topics.js";

export type { SecureClientOptions } from "./client-config.js";

/** Where the connection is. */
export type ClientState = "connecting" | "connected" | "reconnecting" | "offline" | "closed";

const RESOLVED: Promise<void> = Promise.resolve();

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
  /** The health of the broker list's entries changed (see {@link SecureClient.nodes}). */
  nodes: [nodes: readonly BrokerNodeHealth[]];
  diagnosis: [finding: Finding];
  securityEvent: [event: SecurityEvent];
}> {
  #state: ClientState = "connecting";
  #diagnosis: Finding | undefined;
  #offlineSince: Date | undefined;
  #ended = false;
  #profile: Profile;
  /** What loading the configuration found: a failed connection that follows from one of these says so. */
  #configFindings: readonly Finding[];
  readonly #config: unknown;
  readonly #options: SecureClientOptions;
  /** What this client subscribed to, to subscribe again when a broker kept no session for it. */
  readonly #subscriptions = new Map<string, IClientSubscribeOptions>();
  #connectedOnce = false;
  readonly #report: SecurityReport;
  readonly #transport: TlsTransport;
  readonly #gate: PublishGate;
  readonly #reconnect: ReconnectPolicy;
  readonly #renewal: SessionRenewal;
  readonly #handshakes: HandshakeChecks;
  readonly #expiry: ExpiryMonitor;
  readonly #watcher: CredentialWatcher | undefined;
  readonly #nodes: BrokerNodes;
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
    this.#profile = profile;
    this.#configFindings = configFindings;
    this.#options = options;
    assertTlsAsConfigured(resolved);
    const transport = (this.#transport = new TlsTransport(resolved));
    const report = (this.#report = securityReporter(
      (event) => this.emit("securityEvent", event),
      options.securityEvents,
    ));
    const mqtt = (this.mqtt = new MqttClient(
      () => transport.createStream(),
      mqttClientOptions(resolved, options.outgoingStore, { clean: options.clean }),
    ));
    this.#gate = new PublishGate(
      {
        send: (topic, payload, opts, done) => mqtt.publish(topic, payload, opts, done),
        stored: (messageId) => !!mqtt.outgoing[messageId],
        remove: (messageId) => mqtt.removeOutgoingMessage(messageId),
      },
      options.maxInflight ?? 1000,
      options.outgoingStore?.drained?.(),
    );
    mqtt.on("message", (topic, payload, packet) => this.emit("message", topic, payload, packet));
    mqtt.on("error", () => undefined); // failures are diagnosed on close
    mqtt.on("connect", (connack) => {
      // A broker that kept no session for us (clean session, or it lost it) gets our subscriptions again.
      if (this.#connectedOnce && !connack.sessionPresent && this.#subscriptions.size > 0)
        mqtt.subscribe(Object.fromEntries(this.#subscriptions), (error) => {
          if (error) report("connection", "RESUBSCRIBE_FAILED", "warning", { reason: error.message });
        });
      this.#connectedOnce = true;
      this.#nodes.connected(transport.urlIndex);
      this.#reconnect.connected();
      this.#offlineSince = undefined;
      this.#diagnosis = undefined;
      this.#gate.connected();
      this.#setState("connected");
      this.#onSecured();
      this.#expiry.check();
    });
    mqtt.on("packetsend", (packet) => this.#gate.packetSent(packet));
    mqtt.on("packetreceive", (packet) => this.#gate.packetReceived(packet));
    mqtt.on("close", () => {
      // Only a close the broker chose counts towards a refused message: not one this client asked for.
      const refused = this.#gate.closed(!this.#ended && !this.#renewal.planned);
      if (refused !== undefined) {
        this.emit("diagnosis", refusedFinding(refused));
        report("connection", "PUBLISH_REJECTED", "warning", { topic: topicForDisplay(refused) });
      }
      void this.#onClose();
    });
    this.#nodes = new BrokerNodes(
      resolved.urls,
      (url) =>
        checkNode(transport.resolved, url, Math.min(transport.resolved.config.broker.connectTimeoutMs, 5000)),
      (finding) => this.emit("diagnosis", finding),
      () => this.emit("nodes", this.#nodes.list),
    );
    this.#reconnect = new ReconnectPolicy(options.backoff);
    this.#renewal = new SessionRenewal({
      resolved: () => transport.resolved,
      connected: () => this.#state === "connected",
      socket: () => transport.socket,
      rejectUnauthorized: () => transport.rejectUnauthorized,
      reload: () => this.reloadCredentials(),
      report,
    });
    this.#handshakes = new HandshakeChecks(report);
    this.#expiry = new ExpiryMonitor(
      () => watchedCertificates(transport.resolved, transport.tlsInfo),
      () => transport.resolved.config.security.expiryWarningDays,
      (certificate, daysLeft) => {
        const { role, subject } = certificate;
        report("certificate", "CERT_EXPIRES_SOON", "warning", { certificate: role, subject, daysLeft });
        this.emit("diagnosis", expiresSoonFinding(certificate, daysLeft));
      },
    );
    this.#watcher = options.watchCredentials
      ? reloadOnChange(
          resolved,
          () => this.reloadCredentials(),
          report,
          (f) => this.emit("diagnosis", f),
        )
      : undefined;
  }

  #setState(state: ClientState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.emit("state", state, previous);
  }

  /** After a connection closed: diagnoses a failed attempt, fails over, and schedules the next attempt. */
  async #onClose(): Promise<void> {
    if (this.#ended) return;
    const wasConnected = this.#state === "connected";
    const transport = this.#transport;
    const index = transport.urlIndex;
    this.#offlineSince ??= new Date();
    let permanent = false;
    if (wasConnected) {
      // A dropped connection moves on to the next entry of a broker list at once: the node may be gone, and its
      // health is checked from the next one. Messages in flight are sent again there. A close this client planned
      // (a TLS session renewal, a CRL refresh) comes back to the same node.
      if (!this.#renewal.planned) {
        this.#nodes.dropped(index);
        transport.moveTo(this.#nodes.next(index));
      }
    } else {
      const finding = await diagnoseFailure(
        transport.attempt,
        transport.resolved,
        transport.url,
        this.#configFindings,
      );
      if (this.#ended) return;
      this.#nodes.failed(index, finding);
      // With a broker list, one entry's failure is the client's diagnosis only once every entry failed.
      permanent = isPermanent(finding.code) && this.#nodes.allDown;
      if (this.#diagnosis?.code !== finding.code) {
        this.emit("diagnosis", finding);
        this.#report(...failureEvent(finding.code), { code: finding.code, url: transport.url.display });
      }
      this.#diagnosis = finding;
      // Fail over to the next broker URL after a failed attempt.
      transport.moveTo(this.#nodes.next(index));
      // A "diagnosis" listener may have ended the client (a refused first connect does): no timer may outlive it.
      if (this.#ended) return;
    }
    // Scheduled first, so a `state` listener sees this attempt counted (and may still end the client).
    this.#reconnect.schedule(
      () => {
        if (this.#ended) return;
        this.#refreshWill();
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

  /** The Will of the next CONNECT: a function given as `will` is asked again each time. */
  #refreshWill(): void {
    const will = this.#options.will;
    if (will !== undefined) this.mqtt.options.will = typeof will === "function" ? will() : will;
  }

  /** After each CONNACK over TLS: the handshake's checks, then session renewal and CRL refresh are scheduled. */
  #onSecured(): void {
    const info = this.#transport.tlsInfo;
    if (!info || !this.#transport.url.tls) return;
    const refused = this.#handshakes.secured(info, this.#renewal.renewed(), this.#profile);
    if (refused) {
      this.#diagnosis = refused;
      this.emit("diagnosis", refused);
      void this.end(true);
      return;
    }
    this.#renewal.schedule();
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
    const validation = await reloadConfig(this.#config, this.#options);
    if (this.#ended || !validation.resolved || !validation.ok)
      return { ok: false, findings: validation.findings };
    const downgrade = connectionChange(this.#transport.resolved, validation.resolved);
    if (downgrade) return { ok: false, findings: [downgrade, ...validation.findings] };
    // A key the TLS stack refuses (too small for its security level, say): what works is kept.
    const refused = this.#transport.use(validation.resolved);
    if (refused) return { ok: false, findings: [refused, ...validation.findings] };
    this.#profile = validation.profile;
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
        // A broker list is walked once before the first connect gives up; the error is the last entry's.
        if (!this.#nodes.allDown) return;
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
      this.#refreshWill();
      this.mqtt.connect();
    });
  }

  get state(): ClientState {
    return this.#state;
  }
  /** Protocol, cipher, the broker's chain and whether the TLS session was resumed, for the current connection. */
  get tlsInfo(): TlsInfo | undefined {
    return this.#transport.tlsInfo;
  }
  /**
   * The health of each entry of the broker list, in order: connected, up (its check passed), down (with the
   * diagnosis) or unknown. Entries the client left are checked in the background while it is connected.
   */
  get nodes(): readonly BrokerNodeHealth[] {
    return this.#nodes.list;
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
    return this.#gate.publish(topic, payload, options);
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
      for (const grant of granted) {
        if (grant.qos === 128) continue;
        this.#subscriptions.set(grant.topic, { ...options, qos: grant.qos });
        if (grant.qos < options.qos) this.emit("diagnosis", downgraded(grant.topic, options.qos, grant.qos));
      }
      return granted;
    });
  }

  async unsubscribe(topic: string | string[]): Promise<void> {
    await this.mqtt.unsubscribeAsync(topic);
    for (const filter of [topic].flat()) this.#subscriptions.delete(filter);
  }

  /**
   * Ends the connection (after in-flight messages unless `force`); no reconnect follows. Under MQTT 5 the
   * DISCONNECT may carry a reason code: 4 ("Disconnect with Will Message") asks the broker to publish the Will.
   */
  async end(force = false, disconnect: { reasonCode?: number } = {}): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#reconnect.cancel();
    this.#nodes.close();
    this.#expiry.close();
    this.#renewal.close();
    this.#watcher?.close();
    this.#gate.end();
    await this.mqtt
      .endAsync(force, disconnect.reasonCode === undefined ? {} : { reasonCode: disconnect.reasonCode })
      .catch(() => undefined);
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
  const validation = await configForConnect(config, options);
  const client = new SecureClient(config, validation.resolved, validation.profile, options, [
    ...validation.findings,
    ...(options.explainWith ?? []),
  ]);
  for (const finding of validation.findings.filter((f) => f.severity === "error"))
    client.emit("diagnosis", finding);
  await startClient(client);
  return client;
}

/** A subscription granted at a lower QoS than asked for. */
function downgraded(topic: string, asked: number, granted: number): Finding {
  return createFinding(
    "QOS_DOWNGRADED",
    "warning",
    `The broker granted QoS ${granted} for ${topicForDisplay(topic)} (asked for QoS ${asked}): messages arrive ${granted === 1 ? "at least once, so one may arrive twice" : "at most once, so one may be lost"}.`,
    {
      remedy:
        granted === 1
          ? "Make the receiver tolerate duplicates (a sequence number or an idempotent write), or use a broker that grants QoS 2 (RabbitMQ 3.x does not)."
          : "Check the broker's maximum QoS and its ACL for this topic.",
    },
  );
}
