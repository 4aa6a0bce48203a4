import { FINDING_CATALOGUE, createFinding, type Finding } from "@proj/findings";
import type { IClientPublishOptions, Packet } from "mqtt";
import { MqttTlsError } from "./errors.js";
import { REFUSED_AFTER_CLOSES, RefusedPublishTracker } from "./refused-publish.js";
import { topicForDisplay } from "./topics.js";

/** What a {@link PublishGate} needs of the MQTT client underneath. */
export interface PublishLink {
  /** Hands one QoS 1/2 message over; `done` runs on its acknowledgement, or with the error that ended it. */
  send(
    topic: string,
    payload: string | Buffer,
    options: IClientPublishOptions,
    done: (error?: Error) => void,
  ): void;
  /** Whether a message is still in the outgoing store. */
  stored(messageId: number): boolean;
  /** Takes a message out of the outgoing store: its `done` runs with the error "Message removed". */
  remove(messageId: number): void;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

/** The error of a publish the broker refused by closing the connection each time it got it. */
function refusedError(topic: string, cause: unknown): MqttTlsError {
  return new MqttTlsError(
    "PUBLISH_REJECTED",
    `The broker closed the connection each time it got the message to "${topicForDisplay(topic)}" (${REFUSED_AFTER_CLOSES} times): it refuses it, so it is not sent again.`,
    { remedy: FINDING_CATALOGUE.PUBLISH_REJECTED.remedy, cause },
  );
}

/**
 * The diagnosis for a message given up on as refused by the broker (see {@link PublishGate.closed}).
 *
 * @example
 * ```ts
 * const topic = gate.closed(true);
 * if (topic !== undefined) client.emit("diagnosis", refusedFinding(topic));
 * ```
 */
export function refusedFinding(topic: string): Finding {
  return createFinding(
    "PUBLISH_REJECTED",
    "error",
    `The broker closed the connection each time it got the message to "${topicForDisplay(topic)}" (${REFUSED_AFTER_CLOSES} times): it is dropped, not sent again.`,
    { remedy: FINDING_CATALOGUE.PUBLISH_REJECTED.remedy },
  );
}

/**
 * The way of QoS 1/2 messages to the broker, online and offline. At most `limit` are outstanding at once (in flight
 * plus queued while offline): beyond it `publish` waits for a slot, in order. New messages wait until the messages
 * an outgoing store held at start are replayed. A message the MQTT client dropped unsent when a connection closed
 * ("Connection closed") is sent again on the next connection; only `end()` makes that final. A message the broker
 * refuses by closing the connection on it, time after time, is given up on. It holds no timer.
 *
 * @example
 * ```ts
 * const gate = new PublishGate(
 *   { send: (t, p, o, done) => mqtt.publish(t, p, o, done), stored: (id) => id in mqtt.outgoing, remove: (id) => mqtt.removeOutgoingMessage(id) },
 *   1000,
 * );
 * mqtt.on("connect", () => gate.connected());
 * await gate.publish("plant/line1/level", "72.4", { qos: 1 });
 * ```
 */
export class PublishGate {
  readonly #link: PublishLink;
  readonly #limit: number;
  #outstanding = 0;
  readonly #waiting: (() => void)[] = [];
  #replayed: Promise<void> | undefined;
  /** Settles on the next connection (rejects on end); one promise for every waiter. */
  #nextConnection: Deferred | undefined;
  #ended = false;
  readonly #refusals = new RefusedPublishTracker();
  /** Topics of messages given up on as refused, until their `publish` has rejected. */
  readonly #refusedTopics: string[] = [];

  /** `replay`: settles once the messages an outgoing store held at start are acknowledged. */
  constructor(link: PublishLink, limit: number, replay?: Promise<void>) {
    this.#link = link;
    this.#limit = limit;
    if (replay) this.#replayed = replay.then(() => void (this.#replayed = undefined));
  }

  /** Messages holding a slot now. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Sends a QoS 1/2 message once a slot is free; resolves on its acknowledgement. */
  publish(topic: string, payload: string | Buffer, options: IClientPublishOptions): Promise<void> {
    if (this.#replayed) return this.#replayed.then(() => this.publish(topic, payload, options));
    if (this.#tryAcquire()) return this.#send(topic, payload, options);
    return this.#acquire().then(() => this.#send(topic, payload, options));
  }

  #tryAcquire(): boolean {
    if (this.#outstanding >= this.#limit) return false;
    this.#outstanding++;
    return true;
  }

  /** Resolves holding a slot, in the order callers asked. */
  #acquire(): Promise<void> {
    if (this.#tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve) => this.#waiting.push(resolve)).then(() => this.#acquire());
  }

  #release(): void {
    this.#outstanding--;
    this.#waiting.shift()?.();
  }

  /** Sends one message in the slot the caller holds; the slot is freed when the message is done. */
  #send(topic: string, payload: string | Buffer, options: IClientPublishOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#link.send(topic, payload, options, (error) => {
        this.#release();
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
          this.#reconnected()
            .then(() => this.publish(topic, payload, options))
            .then(resolve, () => reject(error));
        else reject(error);
      });
    });
  }

  #reconnected(): Promise<void> {
    if (!this.#nextConnection) {
      let settle!: Omit<Deferred, "promise">;
      const promise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
      this.#nextConnection = { promise, ...settle };
    }
    return this.#nextConnection.promise;
  }

  /** A connection is up: what waits for it is sent again. */
  connected(): void {
    this.#nextConnection?.resolve();
    this.#nextConnection = undefined;
  }

  /** A packet went out (called for every packet: QoS 1/2 PUBLISHes are tracked). */
  packetSent(packet: Packet): void {
    if (packet.cmd === "publish" && packet.qos > 0 && packet.messageId !== undefined)
      this.#refusals.sent(packet.messageId, packet.topic);
  }

  /** A packet came in (called for every packet: PUBACK and PUBREC show the broker takes messages). */
  packetReceived(packet: Packet): void {
    if ((packet.cmd === "puback" || packet.cmd === "pubrec") && packet.messageId !== undefined)
      this.#refusals.acknowledged(packet.messageId);
  }

  /**
   * The connection closed; `byBroker` when the broker chose to (not `end()`, not a planned renewal: only such a
   * close counts). A message that was first in flight at the last {@link REFUSED_AFTER_CLOSES} such closes is given
   * up on: taken out of the store (so it is not sent again), its `publish` rejects with `PUBLISH_REJECTED`, and its
   * topic is returned.
   */
  closed(byBroker: boolean): string | undefined {
    const refused = this.#refusals.closed();
    if (!byBroker || !refused || !this.#link.stored(refused.messageId)) return undefined;
    this.#refusedTopics.push(refused.topic);
    this.#link.remove(refused.messageId);
    return refused.topic;
  }

  /** The client ends: what was dropped unsent is no longer sent again, and what waited for a connection rejects. */
  end(): void {
    this.#ended = true;
    this.#nextConnection?.reject(new Error("closed"));
    this.#nextConnection = undefined;
  }
}
