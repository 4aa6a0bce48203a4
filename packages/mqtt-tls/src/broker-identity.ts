import mqttPacket, { type Packet } from "mqtt-packet";
import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";

/** Brokers the probe can tell apart. */
export type BrokerKind = "mosquitto" | "rabbitmq" | "aedes" | "emqx" | "vernemq" | "hivemq";

/** What a broker shows of itself after CONNACK: its `$SYS` version, and the highest QoS it grants. */
export interface BrokerIdentity {
  /** Where it can be told apart. */
  readonly kind: BrokerKind | undefined;
  /** As the broker publishes it on `$SYS/broker/version` (Mosquitto, the dev broker) or `$SYS/brokers/+/version`. */
  readonly version: string | undefined;
  /** What a subscription asking for QoS 2 was granted (undefined when the broker refused it or did not answer). */
  readonly maxQos: 0 | 1 | 2 | undefined;
}

/** How long to wait for a retained `$SYS` version after SUBACK, and for the whole exchange at most. */
const VERSION_WAIT_MS = 250;
const IDENTIFY_LIMIT_MS = 1500;

const KINDS: readonly [RegExp, BrokerKind][] = [
  [/mosquitto/i, "mosquitto"],
  [/aedes/i, "aedes"],
  [/emqx/i, "emqx"],
  [/vernemq/i, "vernemq"],
  [/hivemq/i, "hivemq"],
];

/**
 * Which broker this is: by the version it publishes, else by what it grants. A broker that publishes no `$SYS`
 * version and grants QoS 1 for QoS 2 is taken for RabbitMQ 3.x (its MQTT plugin has no QoS 2).
 *
 * @example
 * ```ts
 * brokerKindOf("mosquitto version 2.0.11", 2); // "mosquitto"
 * brokerKindOf(undefined, 1); // "rabbitmq"
 * ```
 */
export function brokerKindOf(
  version: string | undefined,
  maxQos: number | undefined,
): BrokerKind | undefined {
  if (version !== undefined) return KINDS.find(([pattern]) => pattern.test(version))?.[1];
  return maxQos === 1 ? "rabbitmq" : undefined;
}

/**
 * After a successful CONNACK, asks the broker who it is without leaving a trace: SUBSCRIBE to its `$SYS` version
 * topics and to a throwaway topic at QoS 2, read the retained version and the grant, UNSUBSCRIBE from all (a
 * persistent session keeps no subscription; RabbitMQ keeps such a session's queue, empty), and report. It owns its timers; `stop()` ends it with what it knows.
 */
export class IdentityProbe {
  readonly #stream: Duplex;
  readonly #protocolVersion: 3 | 4 | 5;
  readonly #done: (identity: BrokerIdentity) => void;
  readonly #topics = [
    "$SYS/broker/version",
    "$SYS/brokers/+/version",
    `mqtt-tls/probe/${randomBytes(6).toString("hex")}`,
  ];
  #version: string | undefined;
  #maxQos: 0 | 1 | 2 | undefined;
  #subacked = false;
  #unsubscribing = false;
  #finished = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #limit: NodeJS.Timeout;

  constructor(stream: Duplex, protocolVersion: 3 | 4 | 5, done: (identity: BrokerIdentity) => void) {
    this.#stream = stream;
    this.#protocolVersion = protocolVersion;
    this.#done = done;
    this.#limit = setTimeout(() => this.stop(), IDENTIFY_LIMIT_MS);
    this.#write({
      cmd: "subscribe",
      messageId: 1,
      subscriptions: this.#topics.map((topic, i) => ({ topic, qos: i === 2 ? 2 : 0 })),
    });
  }

  /** A packet the broker sent after CONNACK. */
  packet(packet: Packet): void {
    if (packet.cmd === "suback" && packet.messageId === 1) {
      const granted = packet.granted[2] as number | { qos: number } | undefined;
      const qos = typeof granted === "number" ? granted : granted?.qos;
      if (qos === 0 || qos === 1 || qos === 2) this.#maxQos = qos;
      this.#subacked = true;
      if (this.#version !== undefined) this.#unsubscribe();
      else this.#timer = setTimeout(() => this.#unsubscribe(), VERSION_WAIT_MS);
    } else if (packet.cmd === "publish" && packet.topic.startsWith("$SYS/")) {
      // EMQX names itself in the topic ($SYS/brokers/<node>/version) and puts only the number in the payload.
      const text = Buffer.from(packet.payload).toString("utf8").slice(0, 200);
      this.#version ??=
        packet.topic.startsWith("$SYS/brokers/") && !/emqx/i.test(text) ? `EMQX ${text}` : text;
      if (this.#subacked) this.#unsubscribe();
    } else if (packet.cmd === "unsuback" && packet.messageId === 2) {
      this.stop();
    }
  }

  /** Ends the exchange with what is known (the deadline passed, or the connection closed). */
  stop(): void {
    if (this.#finished) return;
    // Whatever happened, a persistent session keeps none of the probe's subscriptions (sent before DISCONNECT).
    if (!this.#unsubscribing && !this.#stream.destroyed) {
      this.#unsubscribing = true;
      this.#write({ cmd: "unsubscribe", messageId: 2, unsubscriptions: this.#topics });
    }
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#limit);
    this.#done({
      kind: brokerKindOf(this.#version, this.#maxQos),
      version: this.#version,
      maxQos: this.#maxQos,
    });
  }

  #unsubscribe(): void {
    if (this.#unsubscribing) return;
    this.#unsubscribing = true;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.stop(), VERSION_WAIT_MS);
    this.#write({ cmd: "unsubscribe", messageId: 2, unsubscriptions: this.#topics });
  }

  #write(packet: Packet): void {
    try {
      this.#stream.write(mqttPacket.generate(packet, { protocolVersion: this.#protocolVersion }));
    } catch {
      this.stop();
    }
  }
}
