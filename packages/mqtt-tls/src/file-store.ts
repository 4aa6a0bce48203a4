import type { IStore, Packet } from "mqtt";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "readable-stream";

interface Entry {
  readonly sequence: number;
  readonly packet: Packet;
}

type DoneCallback = (error?: Error) => void;
type PacketCallback = (error?: Error, packet?: Packet) => void;

/** JSON turns a Buffer into { type: "Buffer", data: [...] }; this turns it back. */
function revive(_key: string, value: unknown): unknown {
  if (
    value &&
    typeof value === "object" &&
    (value as { type?: unknown }).type === "Buffer" &&
    Array.isArray((value as { data?: unknown }).data)
  ) {
    return Buffer.from((value as { data: number[] }).data);
  }
  return value;
}

/**
 * An outgoing message store for mqtt.js that keeps QoS 1/2 messages on disk, one file per message (written to a
 * temporary name and renamed, so a crash never leaves half a message), until the broker acknowledged them. A client
 * started again with the same folder sends what the last one could not.
 *
 * @example
 * ```ts
 * const client = await connectSecure(config, { outgoingStore: new FileStore("/var/lib/plc-gateway/outbox") });
 * ```
 */
export class FileStore implements IStore {
  readonly #dir: string;
  readonly #entries = new Map<number, Entry>();
  #sequence = 0;
  /** Ids of the messages found on disk at start, not yet acknowledged. */
  readonly #pending = new Set<number>();
  #drainedWaiters: (() => void)[] = [];

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
    const loaded: Entry[] = [];
    for (const name of readdirSync(dir)) {
      if (!name.endsWith(".json")) continue;
      try {
        const entry = JSON.parse(readFileSync(join(dir, name), "utf8"), revive) as Entry;
        if (entry.packet?.messageId !== undefined) loaded.push(entry);
      } catch {
        // a file that does not parse is not a message this store wrote
      }
    }
    loaded.sort((a, b) => a.sequence - b.sequence);
    for (const entry of loaded) {
      this.#entries.set(entry.packet.messageId!, entry);
      this.#pending.add(entry.packet.messageId!);
      this.#sequence = Math.max(this.#sequence, entry.sequence);
    }
  }

  /** How many messages are stored. */
  get size(): number {
    return this.#entries.size;
  }

  /** Resolves once every message found on disk at start was acknowledged (new publishes must wait for it). */
  drained(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainedWaiters.push(resolve));
  }

  #file(messageId: number): string {
    return join(this.#dir, `${messageId}.json`);
  }

  put(packet: Packet, cb: DoneCallback): this {
    const messageId = packet.messageId!;
    const entry: Entry = { sequence: ++this.#sequence, packet };
    this.#entries.set(messageId, entry);
    const temporary = `${this.#file(messageId)}.tmp`;
    writeFile(temporary, JSON.stringify(entry))
      .then(() => rename(temporary, this.#file(messageId)))
      .then(
        () => cb(),
        (error: Error) => cb(error),
      );
    return this;
  }

  createStream(): Readable {
    const packets = [...this.#entries.values()].sort((a, b) => a.sequence - b.sequence).map((e) => e.packet);
    return Readable.from(packets, { objectMode: true });
  }

  del(packet: Pick<Packet, "messageId">, cb: PacketCallback): this {
    const messageId = packet.messageId!;
    const entry = this.#entries.get(messageId);
    if (!entry) {
      cb(new Error("missing packet"));
      return this;
    }
    this.#entries.delete(messageId);
    unlink(this.#file(messageId)).then(
      () => cb(undefined, entry.packet),
      () => cb(undefined, entry.packet),
    );
    if (this.#pending.delete(messageId) && this.#pending.size === 0) {
      for (const waiter of this.#drainedWaiters.splice(0)) waiter();
    }
    return this;
  }

  get(packet: Pick<Packet, "messageId">, cb: PacketCallback): this {
    const entry = this.#entries.get(packet.messageId!);
    if (entry) cb(undefined, entry.packet);
    else cb(new Error("missing packet"));
    return this;
  }

  close(cb: DoneCallback): void {
    cb();
  }
}
