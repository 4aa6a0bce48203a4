import type { Packet } from "mqtt";
import { describe, expect, it } from "vitest";
import { REFUSED_AFTER_CLOSES } from "./refused-publish.js";
import { PublishGate, refusedFinding, type PublishLink } from "./publish-gate.js";

interface Sent {
  readonly topic: string;
  readonly payload: string;
  readonly done: (error?: Error) => void;
}

/** A link that holds what it was handed until the test settles it, with an outgoing store by message id. */
function link(): PublishLink & { sent: Sent[]; store: Map<number, Sent> } {
  const sent: Sent[] = [];
  const store = new Map<number, Sent>();
  return {
    sent,
    store,
    send: (topic, payload, _options, done) => void sent.push({ topic, payload: String(payload), done }),
    stored: (messageId) => store.has(messageId),
    remove(messageId) {
      const message = store.get(messageId);
      store.delete(messageId);
      message?.done(new Error("Message removed"));
    },
  };
}

const qos1 = { qos: 1 } as const;
const flush = () => new Promise((resolve) => setImmediate(resolve));
const publishPacket = (messageId: number, topic: string) =>
  ({ cmd: "publish", qos: 1, messageId, topic, payload: "", retain: false, dup: false }) as Packet;

describe("PublishGate", () => {
  it("holds at most its limit outstanding and lets waiters in, in order, as messages are acknowledged", async () => {
    const l = link();
    const gate = new PublishGate(l, 2);
    const settled: string[] = [];
    for (const payload of ["a", "b", "c", "d"])
      void gate.publish("plant/level", payload, qos1).then(() => settled.push(payload));
    await flush();
    expect(l.sent.map((s) => s.payload)).toEqual(["a", "b"]);
    expect(gate.outstanding).toBe(2);
    l.sent[1]!.done();
    await flush();
    expect(settled).toEqual(["b"]);
    expect(l.sent.map((s) => s.payload)).toEqual(["a", "b", "c"]);
    expect(gate.outstanding).toBe(2);
    l.sent[0]!.done();
    l.sent[2]!.done();
    await flush();
    l.sent[3]!.done();
    await flush();
    expect(settled).toEqual(["b", "a", "c", "d"]);
    expect(gate.outstanding).toBe(0);
  });

  it("holds new messages until a store's messages from before are replayed", async () => {
    const l = link();
    let replayed!: () => void;
    const gate = new PublishGate(l, 10, new Promise<void>((resolve) => (replayed = resolve)));
    const published = gate.publish("plant/level", "after restart", qos1);
    await flush();
    expect(l.sent).toEqual([]);
    replayed();
    await flush();
    expect(l.sent.map((s) => s.payload)).toEqual(["after restart"]);
    l.sent[0]!.done();
    await expect(published).resolves.toBeUndefined();
  });

  it("sends a message dropped unsent by a closing connection again on the next connection", async () => {
    const l = link();
    const gate = new PublishGate(l, 10);
    const first = gate.publish("plant/level", "1", qos1);
    const second = gate.publish("plant/level", "2", qos1);
    l.sent[0]!.done(new Error("Connection closed"));
    l.sent[1]!.done(new Error("Connection closed"));
    await flush();
    expect(l.sent).toHaveLength(2);
    expect(gate.outstanding).toBe(0);
    gate.connected();
    await flush();
    expect(l.sent.slice(2).map((s) => s.payload)).toEqual(["1", "2"]);
    l.sent[2]!.done();
    l.sent[3]!.done();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
  });

  it("rejects on end what waited for a connection, and sends nothing again after it", async () => {
    const l = link();
    const gate = new PublishGate(l, 10);
    const waiting = gate.publish("plant/level", "1", qos1);
    const closed = new Error("Connection closed");
    l.sent[0]!.done(closed);
    gate.end();
    await expect(waiting).rejects.toBe(closed);
    const afterEnd = gate.publish("plant/level", "2", qos1);
    const ended = new Error("Connection closed");
    l.sent[1]!.done(ended);
    await expect(afterEnd).rejects.toBe(ended);
    gate.connected();
    await flush();
    expect(l.sent).toHaveLength(2);
  });

  it("passes any other failure on", async () => {
    const l = link();
    const gate = new PublishGate(l, 10);
    const published = gate.publish("plant/level", "1", qos1);
    const failure = new Error("Publish error: Session taken over");
    l.sent[0]!.done(failure);
    await expect(published).rejects.toBe(failure);
    expect(gate.outstanding).toBe(0);
  });

  it(`gives up on a message first in flight at ${REFUSED_AFTER_CLOSES} closes the broker chose, and on no other`, async () => {
    const l = link();
    const gate = new PublishGate(l, 10);
    const refused = gate.publish("plant/poison", "x", qos1);
    const fine = gate.publish("plant/level", "1", qos1);
    l.store.set(7, l.sent[0]!);
    l.store.set(8, l.sent[1]!);
    const connection = () => {
      gate.packetSent(publishPacket(7, "plant/poison"));
      gate.packetSent(publishPacket(8, "plant/level"));
    };
    // Closes this client asked for (end, a planned renewal) never give a message up.
    for (let close = 0; close < REFUSED_AFTER_CLOSES; close++) {
      connection();
      expect(gate.closed(false)).toBeUndefined();
    }
    // An acknowledgement of the suspect starts the count afresh.
    connection();
    expect(gate.closed(true)).toBeUndefined();
    connection();
    gate.packetReceived({ cmd: "puback", messageId: 7 });
    expect(gate.closed(true)).toBeUndefined();
    for (let close = 1; close < REFUSED_AFTER_CLOSES; close++) {
      connection();
      expect(gate.closed(true)).toBeUndefined();
    }
    connection();
    expect(gate.closed(true)).toBe("plant/poison");
    const error = await refused.catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "MqttTlsError", code: "PUBLISH_REJECTED" });
    expect((error as Error).message).toMatch(/"plant\/poison" \(3 times\): it refuses it/);
    expect(l.store.has(7)).toBe(false);
    l.sent[1]!.done();
    await expect(fine).resolves.toBeUndefined();
    // A message no longer in the store is not given up on again.
    for (let close = 0; close < REFUSED_AFTER_CLOSES; close++) {
      gate.packetSent(publishPacket(9, "plant/gone"));
      expect(gate.closed(true)).toBeUndefined();
    }
  });

  it("names a refused message's topic, shortened, in its diagnosis", () => {
    const finding = refusedFinding(`${"t".repeat(80)}`);
    expect(finding).toMatchObject({ code: "PUBLISH_REJECTED", severity: "error" });
    expect(finding.message).toContain(`"${"t".repeat(60)}…"`);
    expect(finding.remedy).toEqual(expect.any(String));
  });
});
