import { hasErrors, type Finding } from "@proj/findings";
import { backoffDelay, connectSecure, isMqttTlsError, type SecureClient } from "@proj/mqtt-tls";
import type { LoadedConfig } from "@proj/security-config";
import type { IClientPublishOptions, IClientSubscribeOptions, Packet } from "mqtt";
import type { NodeStatus } from "./red.js";
import { CONNECTING, connectedStatus, statusOf } from "./status.js";
import { topicMatches } from "./topic-filter.js";

/** A node that uses a broker connection: it is told what to show as its status. */
export interface ConnectionUser {
  status(status: NodeStatus): void;
}

/** What a subscriber is handed for each message. */
export type MessageHandler = (topic: string, payload: Buffer, packet: Packet) => void;

/** How the connection reports to the config node: once per distinct failure, so a retry loop does not flood the log. */
export interface ConnectionLog {
  error(message: string): void;
  log(message: string): void;
}

const RETRY = { minMs: 1_000, maxMs: 30_000 } as const;
/** How long closing waits for the broker (an UNSUBSCRIBE's ack, a DISCONNECT) before it lets go: a redeploy while
 * the broker is down must not hang on acknowledgements that will never come. */
const CLOSE_GRACE_MS = 2_000;

/** `work`, or nothing once `ms` have passed: whichever comes first. */
async function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

/**
 * One broker connection of an mqtt-tls-broker config node: it connects when its first user registers, shows every
 * user the state (the finding code and cause when it fails), retries a failed first connection with backoff (a
 * configuration error waits for the next deploy instead), keeps the subscriptions, and ends on close. It owns its
 * client and its retry timer; nothing else touches them.
 */
export class BrokerConnection {
  readonly #load: () => Promise<{ loaded: LoadedConfig; findings: Finding[] }>;
  readonly #log: ConnectionLog;
  readonly #users = new Set<ConnectionUser>();
  readonly #subscriptions = new Map<MessageHandler, { filter: string; options: IClientSubscribeOptions }>();
  #client: SecureClient | undefined;
  #status: NodeStatus = CONNECTING;
  #started = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #lastLogged = "";

  constructor(load: () => Promise<{ loaded: LoadedConfig; findings: Finding[] }>, log: ConnectionLog) {
    this.#load = load;
    this.#log = log;
  }

  /** Adds a node that shows this connection's state; the first one starts connecting. */
  register(user: ConnectionUser): void {
    this.#users.add(user);
    user.status(this.#status);
    if (!this.#started) {
      this.#started = true;
      this.#run().catch((error: unknown) => {
        // Not a diagnosis (those are findings): a fault of this package. Said, never a crash of Node-RED.
        this.#show({ fill: "red", shape: "ring", text: "failed: see the Node-RED log" });
        this.#log.error(`the connection failed unexpectedly: ${(error as Error).message}`);
      });
    }
  }

  deregister(user: ConnectionUser): void {
    this.#users.delete(user);
  }

  /** Subscribes `handler` to `filter`, now or as soon as the broker is connected. */
  async subscribe(filter: string, options: IClientSubscribeOptions, handler: MessageHandler): Promise<void> {
    this.#subscriptions.set(handler, { filter, options });
    await this.#client?.subscribe(filter, options);
  }

  async unsubscribe(handler: MessageHandler): Promise<void> {
    const entry = this.#subscriptions.get(handler);
    this.#subscriptions.delete(handler);
    if (!entry || !this.#client) return;
    if ([...this.#subscriptions.values()].some((s) => s.filter === entry.filter)) return;
    // Offline, an UNSUBSCRIBE would wait for a broker that is not there: the session ends with the client anyway.
    if (this.#client.state === "connected")
      await within(CLOSE_GRACE_MS, this.#client.unsubscribe(entry.filter));
  }

  /**
   * Publishes through the connection. Rejects at once with the reason when the broker was never reached (the
   * status shows the same), instead of holding messages for a connection that may never come.
   */
  async publish(topic: string, payload: Buffer | string, options: IClientPublishOptions): Promise<void> {
    if (!this.#client) throw new Error(`not connected: ${this.#status.text ?? "connecting"}`);
    await this.#client.publish(topic, payload, options);
  }

  /** Ends the connection (Node-RED closes the node on redeploy and on stop). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    // A clean end waits for what is in flight; a broker that is gone never answers, so it is forced after a grace.
    if (client.state === "connected") await within(CLOSE_GRACE_MS, client.end());
    await client.end(true).catch(() => undefined);
  }

  #show(status: NodeStatus): void {
    this.#status = status;
    for (const user of this.#users) user.status(status);
  }

  #report(finding: { readonly code: string; readonly message: string }): void {
    this.#show(statusOf(finding));
    const line = `${finding.code}: ${finding.message}`;
    if (line !== this.#lastLogged) this.#log.error(line);
    this.#lastLogged = line;
  }

  async #run(): Promise<void> {
    for (let attempt = 1; !this.#closed; attempt++) {
      this.#show(CONNECTING);
      const { loaded, findings } = await this.#load();
      if (this.#closed) return;
      const errors = [...findings, ...loaded.findings].filter((f) => f.severity === "error");
      if (hasErrors(errors) && errors[0]) {
        // The configuration cannot connect: no retry until it is edited and deployed again.
        this.#report(errors[0]);
        return;
      }
      try {
        const client = await connectSecure(loaded);
        if (this.#closed) {
          await client.end(true).catch(() => undefined);
          return;
        }
        this.#attach(client);
        return;
      } catch (error) {
        if (this.#closed) return;
        if (!isMqttTlsError(error)) throw error;
        this.#report(error.findings[0] ?? { code: error.code, message: error.message });
        if (error.code === "CONFIG_INVALID") return;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, backoffDelay(attempt, RETRY));
      });
    }
  }

  #attach(client: SecureClient): void {
    this.#client = client;
    this.#lastLogged = "";
    this.#show(connectedStatus(client.tlsInfo?.protocol));
    this.#log.log(`connected${client.tlsInfo?.protocol ? ` (${client.tlsInfo.protocol})` : ""}`);
    const onState = (state: SecureClient["state"]) => {
      if (this.#client !== client) return;
      if (state === "connected") {
        this.#lastLogged = "";
        this.#show(connectedStatus(client.tlsInfo?.protocol));
      } else if (client.diagnosis?.severity === "error") this.#report(client.diagnosis);
      else if (state === "closed") {
        // The client ended itself (it refused the broker after the handshake): say so, never stay green; the
        // refusal's own finding, when one was shown, stays.
        if (this.#status.fill !== "red")
          this.#report({
            code: "BROKER_UNREACHABLE",
            message: "The connection was closed and is not retried.",
          });
      } else this.#show(CONNECTING);
    };
    client.on("state", onState);
    client.on("diagnosis", (finding) => {
      if (this.#client === client && finding.severity === "error") this.#report(finding);
    });
    client.on("message", (topic, payload, packet) => {
      for (const [handler, { filter }] of this.#subscriptions)
        if (topicMatches(filter, topic)) handler(topic, payload, packet);
    });
    // A refusal can come between CONNACK and here (before these listeners): the state says it.
    if (client.state !== "connected") onState(client.state);
    for (const { filter, options } of this.#subscriptions.values())
      client.subscribe(filter, options).catch((error: unknown) => {
        this.#log.error(`subscribing to ${filter} failed: ${(error as Error).message}`);
      });
  }
}
