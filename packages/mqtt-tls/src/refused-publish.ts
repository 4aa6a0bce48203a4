/**
 * How many connections in a row may close with the same QoS 1/2 message first in flight before that message counts
 * as refused by the broker. A broker that refuses a publish under MQTT 3.1.1 can only close the connection; the
 * message stays stored and would be sent again after every reconnect, for ever.
 */
export const REFUSED_AFTER_CLOSES = 3;

/**
 * Tells a message the broker refuses (it closes the connection each time it gets it) from a connection that merely
 * dropped. The broker handles a connection's messages in order, so the one it choked on is the first still
 * unacknowledged when the connection closed; any acknowledgement clears the count.
 *
 * @example
 * ```ts
 * const tracker = new RefusedPublishTracker();
 * client.on("packetsend", (p) => p.cmd === "publish" && p.qos > 0 && tracker.sent(p.messageId!, p.topic));
 * client.on("close", () => tracker.closed()?.messageId); // the message to drop, when it is one
 * ```
 */
export class RefusedPublishTracker {
  /** Unacknowledged QoS 1/2 publishes of the current connection, in the order they were sent. */
  readonly #inFlight = new Map<number, string>();
  #suspect: number | undefined;
  #closes = 0;

  /** A QoS 1/2 PUBLISH went out. */
  sent(messageId: number, topic: string): void {
    this.#inFlight.delete(messageId);
    this.#inFlight.set(messageId, topic);
  }

  /** A PUBACK or PUBREC came back: the broker takes messages, so nothing is refused. */
  acknowledged(messageId: number): void {
    this.#inFlight.delete(messageId);
    if (messageId === this.#suspect || this.#suspect === undefined) {
      this.#suspect = undefined;
      this.#closes = 0;
    }
  }

  /**
   * The connection closed. Returns the message to give up on (and its topic) when the same one was first in flight
   * at the last {@link REFUSED_AFTER_CLOSES} closes.
   */
  closed(): { messageId: number; topic: string } | undefined {
    const first = this.#inFlight.entries().next().value;
    this.#inFlight.clear();
    if (!first) return undefined;
    const [messageId, topic] = first;
    this.#closes = messageId === this.#suspect ? this.#closes + 1 : 1;
    this.#suspect = messageId;
    if (this.#closes < REFUSED_AFTER_CLOSES) return undefined;
    this.#suspect = undefined;
    this.#closes = 0;
    return { messageId, topic };
  }
}
