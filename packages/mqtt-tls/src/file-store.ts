import type { IStore, Packet } from "mqtt";
import mqttPacket from "mqtt-packet";
import {
  accessSync,
  close,
  constants,
  fdatasync,
  fsync,
  ftruncate,
  ftruncateSync,
  mkdirSync,
  open,
  readFileSync,
  readdirSync,
  truncateSync,
  unlink,
  write,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { crc32 } from "node:zlib";
import { Readable } from "readable-stream";
import { MqttTlsError } from "./errors.js";

/**
 * The size a segment file grows to before the store starts the next one (a single record larger than this gets a
 * segment of its own). The one bound on segment size; compaction also looks at it.
 */
const SEGMENT_BYTES = 4 * 1024 * 1024;
/** Compaction runs once live records are less than this share of the bytes on disk (and the log would roll). */
const LIVE_SHARE_MIN = 0.5;

/** Record framing: [payload length u32 LE][CRC-32 of the payload u32 LE][payload]. */
const FRAME_BYTES = 8;
const PUT = 1;
const DEL = 2;
/** Payload of a put: kind u8, sequence (u32 high, u32 low), messageId u16, packet format u8, then the packet. */
const PUT_HEAD_BYTES = 12;
/** Payload of a del: kind u8, sequence, messageId u16. */
const DEL_BYTES = 11;
/**
 * Packet formats. A PUBLISH without MQTT 5 properties: flags u8 (qos, retain << 2, dup << 3), topic length u16,
 * topic, payload.
 */
const COMPACT_PUBLISH = 0;
/** A PUBREL without reason code or properties: nothing more. */
const COMPACT_PUBREL = 1;
/** Formats 3 to 5: any other packet as mqtt-packet writes it on the wire for that MQTT version. */
const WIRE_MIN = 3;
const WIRE_MAX = 5;
/** No record is longer than the largest MQTT packet (256 MiB) with its head: a longer length is damage. */
const RECORD_BYTES_MAX = 268_435_460 + PUT_HEAD_BYTES;
const SEGMENT_NAME = /^(\d{8,})\.seg$/;

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const ftruncateAsync = promisify(ftruncate);
const openAsync = promisify(open);
const closeAsync = promisify(close);
const unlinkAsync = promisify(unlink);

type DoneCallback = (error?: Error) => void;
type PacketCallback = (error?: Error, packet?: Packet) => void;

interface Entry {
  /** Order of the put: the store hands packets back in this order. */
  readonly seq: number;
  readonly packet: Packet;
  /** Bytes of its put record on disk. */
  bytes: number;
}

interface Segment {
  readonly number: number;
  bytes: number;
}

/** The puts of a batch (their callbacks, and the range of sequence numbers the batch holds). */
interface Batch {
  readonly callbacks: DoneCallback[];
  readonly firstSeq: number;
  readonly lastSeq: number;
}

/** CRC-32 tables for four bytes at a time (slicing-by-4). */
const CRC = [0, 1, 2, 3].map(() => new Int32Array(256));
const [CRC0, CRC1, CRC2, CRC3] = CRC as [Int32Array, Int32Array, Int32Array, Int32Array];
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC0[n] = c;
}
for (let n = 0; n < 256; n++) {
  CRC1[n] = (CRC0[n]! >>> 8) ^ CRC0[CRC0[n]! & 0xff]!;
  CRC2[n] = (CRC1[n]! >>> 8) ^ CRC0[CRC1[n]! & 0xff]!;
  CRC3[n] = (CRC2[n]! >>> 8) ^ CRC0[CRC2[n]! & 0xff]!;
}

/** CRC-32 (as zlib computes it) of `data[from, to)`: short records in JavaScript, without a call into zlib. */
function checksum(data: Buffer, from: number, to: number): number {
  if (to - from > 256) return crc32(data.subarray(from, to));
  let crc = -1;
  let i = from;
  for (; i + 4 <= to; i += 4) {
    crc ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    crc = CRC3[crc & 0xff]! ^ CRC2[(crc >>> 8) & 0xff]! ^ CRC1[(crc >>> 16) & 0xff]! ^ CRC0[crc >>> 24]!;
  }
  for (; i < to; i++) crc = CRC0[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** A topic written byte by byte, without a call into Node's UTF-8 encoder. */
function isShortAscii(text: string): boolean {
  if (text.length > 64) return false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function segmentName(number: number): string {
  return `${String(number).padStart(8, "0")}.seg`;
}

/** Records framed one after another in one growing buffer (no buffer per record), with where each one ends. */
class RecordBuffer {
  data = Buffer.allocUnsafe(64 * 1024);
  length = 0;
  readonly ends: number[] = [];

  /** Appends a put record and returns its size. */
  put(seq: number, messageId: number, packet: Packet): number {
    if (packet.cmd === "publish" && !packet.properties) {
      // Typed as a string; mqtt-packet writes a Buffer topic too.
      const topic = packet.topic as string | Buffer;
      const payload = packet.payload;
      const ascii = typeof topic === "string" && isShortAscii(topic);
      const topicBytes = ascii
        ? topic.length
        : typeof topic === "string"
          ? Buffer.byteLength(topic)
          : topic.length;
      const payloadBytes = typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
      if (topicBytes <= 0xffff) {
        const at = this.#head(PUT, seq, messageId, PUT_HEAD_BYTES + 3 + topicBytes + payloadBytes);
        const data = this.data;
        data[at + FRAME_BYTES + 11] = COMPACT_PUBLISH;
        data[at + FRAME_BYTES + 12] = (packet.qos & 3) | (packet.retain ? 4 : 0) | (packet.dup ? 8 : 0);
        data.writeUInt16LE(topicBytes, at + FRAME_BYTES + 13);
        const to = at + FRAME_BYTES + 15;
        if (ascii) for (let i = 0; i < topicBytes; i++) data[to + i] = topic.charCodeAt(i);
        else if (typeof topic === "string") data.write(topic, to);
        else data.set(topic, to);
        if (typeof payload === "string") data.write(payload, to + topicBytes);
        else data.set(payload, to + topicBytes);
        return this.#seal(at);
      }
    }
    if (packet.cmd === "pubrel" && !packet.properties && !packet.reasonCode) {
      const at = this.#head(PUT, seq, messageId, PUT_HEAD_BYTES);
      this.data[at + FRAME_BYTES + 11] = COMPACT_PUBREL;
      return this.#seal(at);
    }
    const version = "properties" in packet && packet.properties ? 5 : 4;
    const bytes = mqttPacket.generate(packet, { protocolVersion: version });
    const at = this.#head(PUT, seq, messageId, PUT_HEAD_BYTES + bytes.length);
    this.data[at + FRAME_BYTES + 11] = version;
    bytes.copy(this.data, at + FRAME_BYTES + PUT_HEAD_BYTES);
    return this.#seal(at);
  }

  del(seq: number, messageId: number): void {
    this.#seal(this.#head(DEL, seq, messageId, DEL_BYTES));
  }

  clear(): void {
    this.length = 0;
    this.ends.length = 0;
    // A burst made it large: give the memory back.
    if (this.data.length > 1024 * 1024) this.data = Buffer.allocUnsafe(64 * 1024);
  }

  /** Room for a record with a payload of `bytes`, its head written; returns where it starts. */
  #head(kind: number, seq: number, messageId: number, bytes: number): number {
    const at = this.length;
    const end = at + FRAME_BYTES + bytes;
    if (end > this.data.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.data.length * 2, end));
      this.data.copy(grown, 0, 0, at);
      this.data = grown;
    }
    const data = this.data;
    data.writeUInt32LE(bytes, at);
    data[at + FRAME_BYTES] = kind;
    data.writeUInt32LE(Math.floor(seq / 2 ** 32), at + FRAME_BYTES + 1);
    data.writeUInt32LE(seq % 2 ** 32, at + FRAME_BYTES + 5);
    data.writeUInt16LE(messageId, at + FRAME_BYTES + 9);
    this.length = end;
    return at;
  }

  /** Fills in the checksum of the record at `at`, the last one; returns its size. */
  #seal(at: number): number {
    this.data.writeUInt32LE(checksum(this.data, at + FRAME_BYTES, this.length), at + 4);
    this.ends.push(this.length);
    return this.length - at;
  }
}

/** The packet of a put record's payload, or undefined when it does not hold a valid one. */
function decodePut(payload: Buffer, messageId: number): Packet | undefined {
  const format = payload[11]!;
  const body = payload.subarray(PUT_HEAD_BYTES);
  if (format === COMPACT_PUBLISH) {
    if (body.length < 3) return undefined;
    const flags = body[0]!;
    const topicEnd = 3 + body.readUInt16LE(1);
    const qos = flags & 3;
    if (topicEnd > body.length || qos === 3 || flags > 15) return undefined;
    return {
      cmd: "publish",
      topic: body.toString("utf8", 3, topicEnd),
      // A copy: a view would keep the whole segment file in memory.
      payload: Buffer.from(body.subarray(topicEnd)),
      qos: qos as 0 | 1 | 2,
      retain: (flags & 4) !== 0,
      dup: (flags & 8) !== 0,
      messageId,
    };
  }
  if (format === COMPACT_PUBREL) return body.length === 0 ? { cmd: "pubrel", messageId } : undefined;
  if (format < WIRE_MIN || format > WIRE_MAX) return undefined;
  const parser = mqttPacket.parser({ protocolVersion: format as 3 | 4 | 5 });
  const packets: Packet[] = [];
  let failed = false;
  parser.on("packet", (packet) => packets.push(packet));
  parser.on("error", () => (failed = true));
  const left = parser.parse(body);
  const [packet] = packets;
  if (failed || left !== 0 || packets.length !== 1 || !packet) return undefined;
  delete (packet as { length?: number }).length;
  return packet;
}

/** The coded error for a folder the store cannot use, with a remedy for the usual causes. */
function unusable(dir: string, error: unknown): MqttTlsError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const remedy =
    code === "EACCES" || code === "EPERM" || code === "EROFS"
      ? `Give the user this runs as permission to read and write ${dir}, on a writable file system.`
      : code === "EEXIST" || code === "ENOTDIR"
        ? `${dir} (or a folder above it) is a file: give the store a folder of its own.`
        : code === "ENOSPC" || code === "EDQUOT"
          ? `Free space on the disk that holds ${dir}.`
          : `Check ${dir} and the disk it is on.`;
  return new MqttTlsError(
    "STORE_UNUSABLE",
    `The message store folder ${dir} cannot be used: ${error instanceof Error ? error.message : String(error)}`,
    { remedy, cause: error },
  );
}

async function writeAll(fd: number, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await writeAsync(fd, data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * An outgoing message store for mqtt.js that keeps QoS 1/2 messages on disk until the broker acknowledged them. A
 * client started again with the same folder sends what the last one could not, first and in order.
 *
 * The folder holds an append-only log in segment files (`00000001.seg`, ...) of at most 4 MiB. Each record is
 * framed as `[length u32][CRC-32 u32][payload]`; a put record carries a sequence number, the packet id and the
 * packet (a PUBLISH as flags, topic and payload; one with MQTT 5 properties as MQTT encodes it on the wire), a del
 * record the packet id. Puts and dels made together are written with one write and one `fdatasync`, and while that
 * sync runs the next ones gather for the next (group commit): `put` calls back once its message is durable, `del`
 * at once (a del lost in a crash only means the message is sent again, which QoS 1/2 allows). Once the log spans
 * more than one segment and live messages are less than half of its bytes, the live records are copied into a new
 * segment and the older segments are deleted once the copy is synced: disk use stays near one segment plus what
 * is waiting for an acknowledgement.
 *
 * On open the segments are read in order. A last record cut short by a crash (or followed by garbage) is cut off
 * the file and counted in {@link FileStore.truncatedBytes}; a damaged record elsewhere is skipped, reading goes on
 * with the next intact record, and each damaged stretch is counted in {@link FileStore.skippedRecords}. One store
 * at a time may use a folder. The constructor throws an {@link MqttTlsError} `STORE_UNUSABLE` for a folder it
 * cannot create, read or write; a put that cannot be written calls back with the same error.
 *
 * @example
 * ```ts
 * const outbox = new FileStore("/var/lib/plc-gateway/outbox");
 * if (outbox.skippedRecords > 0) console.warn(`outbox: ${outbox.skippedRecords} damaged records skipped`);
 * const client = await connectSecure(config, { outgoingStore: outbox });
 * ```
 */
export class FileStore implements IStore {
  readonly #dir: string;
  /** Live messages by packet id, in the order of their puts. */
  readonly #packets = new Map<number, Packet>();
  /** By packet id (16 bits): the sequence number of the live message's put, and the size of its record. */
  readonly #seqs = new Float64Array(0x10000);
  readonly #bytes = new Uint32Array(0x10000);
  #sequence = 0;
  /** Ids of the messages found on disk at start, not yet acknowledged. */
  readonly #pending = new Set<number>();
  #drainedWaiters: (() => void)[] = [];
  #skippedRecords = 0;
  #truncatedBytes = 0;

  /** Segments on disk, oldest first; the last one takes the appends. */
  readonly #segments: Segment[] = [];
  #fd: number | undefined;
  /** Number of the newest segment file made, so numbers keep rising when compaction deleted them all. */
  #lastNumber = 0;
  /** The next append starts a new segment (after a compaction began, or the last one could not be repaired). */
  #rollNext = false;
  #totalBytes = 0;
  #liveBytes = 0;

  /** Records not yet written, and the puts waiting for them; the other buffer is the one being written. */
  #queue = new RecordBuffer();
  #spare = new RecordBuffer();
  #callbacks: DoneCallback[] = [];
  /** The first sequence number the queue may hold. */
  #queueSeq = 1;
  #scheduled = false;
  #later: NodeJS.Immediate | undefined;
  /** The batch whose fdatasync is under way: one at a time, the queue grows meanwhile. */
  #syncing: Batch | undefined;
  /** Dels written that no fdatasync covers yet (nobody waits for them; the next sync or a close does). */
  #dirty = false;
  /** A write that opens, rolls or compacts segments: nothing else is written meanwhile. */
  #exclusive: Promise<void> | undefined;
  /** Called when a sync or an exclusive write has finished. */
  #settled: (() => void)[] = [];

  /**
   * Opens (creating it if missing) the folder and reads the messages it holds.
   *
   * @throws {MqttTlsError} `STORE_UNUSABLE` when the folder is a file, or cannot be created, read or written.
   */
  constructor(dir: string) {
    this.#dir = dir;
    let names: string[];
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
      names = readdirSync(dir);
    } catch (error) {
      throw unusable(dir, error);
    }
    const numbers = names
      .map((name) => SEGMENT_NAME.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const loaded = new Map<number, Entry>();
    const deleted = new Map<number, number>();
    for (const [index, number] of numbers.entries()) {
      const file = join(dir, segmentName(number));
      let bytes: number;
      try {
        bytes = this.#replay(readFileSync(file), index === numbers.length - 1, file, loaded, deleted);
      } catch (error) {
        throw unusable(dir, error);
      }
      this.#segments.push({ number, bytes });
      this.#totalBytes += bytes;
      this.#lastNumber = number;
    }
    for (const [messageId, entry] of [...loaded].sort((a, b) => a[1].seq - b[1].seq)) {
      this.#packets.set(messageId, entry.packet);
      this.#seqs[messageId] = entry.seq;
      this.#bytes[messageId] = entry.bytes;
      this.#pending.add(messageId);
      this.#liveBytes += entry.bytes;
    }
    this.#queueSeq = this.#sequence + 1;
  }

  /**
   * Applies the records of one segment to `loaded`, returning the bytes the segment keeps. Replay goes by sequence
   * numbers, not file order, so the copies a compaction left beside the originals (after a crash) change nothing.
   */
  #replay(
    data: Buffer,
    last: boolean,
    file: string,
    loaded: Map<number, Entry>,
    deleted: Map<number, number>,
  ): number {
    /** The valid record at `at`, or undefined. */
    const recordAt = (at: number): { end: number; payload: Buffer } | undefined => {
      if (data.length - at < FRAME_BYTES) return undefined;
      const length = data.readUInt32LE(at);
      const end = at + FRAME_BYTES + length;
      if (length < DEL_BYTES || length > RECORD_BYTES_MAX || end > data.length) return undefined;
      if (checksum(data, at + FRAME_BYTES, end) !== data.readUInt32LE(at + 4)) return undefined;
      const payload = data.subarray(at + FRAME_BYTES, end);
      const kind = payload[0];
      if (kind === DEL ? length !== DEL_BYTES : kind !== PUT || length < PUT_HEAD_BYTES) return undefined;
      return { end, payload };
    };
    const apply = (payload: Buffer): boolean => {
      const seq = payload.readUInt32LE(1) * 2 ** 32 + payload.readUInt32LE(5);
      const messageId = payload.readUInt16LE(9);
      if (payload[0] === PUT) {
        const packet = decodePut(payload, messageId);
        if (!packet) return false;
        this.#sequence = Math.max(this.#sequence, seq);
        const current = loaded.get(messageId);
        if ((deleted.get(messageId) ?? -1) >= seq || (current && current.seq >= seq)) return true;
        loaded.set(messageId, { seq, packet, bytes: payload.length + FRAME_BYTES });
      } else {
        this.#sequence = Math.max(this.#sequence, seq);
        if ((deleted.get(messageId) ?? -1) < seq) deleted.set(messageId, seq);
        const current = loaded.get(messageId);
        if (current && current.seq < seq) loaded.delete(messageId);
      }
      return true;
    };

    let at = 0;
    /** End of the last intact record: what a torn tail is cut back to. */
    let intactEnd = 0;
    /** Where damage began that no intact record has followed yet. */
    let damagedFrom: number | undefined;
    while (at < data.length) {
      const record = recordAt(at);
      if (record && apply(record.payload)) {
        if (damagedFrom !== undefined) {
          this.#skippedRecords++;
          damagedFrom = undefined;
        }
        at = intactEnd = record.end;
        continue;
      }
      damagedFrom ??= at;
      // Skip the damaged record by its length when an intact record follows it, else look for the next one.
      const length = data.length - at >= FRAME_BYTES ? data.readUInt32LE(at) : 0;
      const next = at + FRAME_BYTES + length;
      if (length >= DEL_BYTES && next < data.length && recordAt(next)) {
        at = next;
        continue;
      }
      let found = -1;
      for (let candidate = at + 1; candidate + FRAME_BYTES + DEL_BYTES <= data.length; candidate++) {
        const kind = data[candidate + FRAME_BYTES];
        if ((kind === PUT || kind === DEL) && recordAt(candidate)) {
          found = candidate;
          break;
        }
      }
      if (found < 0) break;
      at = found;
    }
    if (damagedFrom === undefined) return data.length;
    if (!last) {
      // Damage at the end of an older segment: no crash leaves that, so it counts.
      this.#skippedRecords++;
      return data.length;
    }
    // The end of the last segment: a write a crash cut short. Cut it off, so appends follow intact records.
    truncateSync(file, intactEnd);
    this.#truncatedBytes += data.length - intactEnd;
    return intactEnd;
  }

  /** How many messages are stored. */
  get size(): number {
    return this.#packets.size;
  }

  /**
   * Damaged stretches skipped when the folder was opened, each of one or more records whose messages are lost: a
   * record with a bad checksum or length that intact records follow. A torn end of the log, which a crash leaves,
   * is not counted here but in {@link FileStore.truncatedBytes}.
   *
   * @example
   * ```ts
   * const outbox = new FileStore(dir);
   * if (outbox.skippedRecords > 0) log.warn(`${outbox.skippedRecords} damaged outbox records skipped`);
   * ```
   */
  get skippedRecords(): number {
    return this.#skippedRecords;
  }

  /**
   * Bytes cut off the end of the log when the folder was opened: the record a crash (or power loss) left half
   * written, which had not been acknowledged to its publisher.
   *
   * @example
   * ```ts
   * if (new FileStore(dir).truncatedBytes > 0) log.info("outbox: an interrupted write was discarded");
   * ```
   */
  get truncatedBytes(): number {
    return this.#truncatedBytes;
  }

  /**
   * Resolves once every message found on disk at start was acknowledged (new publishes must wait for it).
   *
   * @example
   * ```ts
   * await outbox.drained(); // what the previous process left is delivered
   * ```
   */
  drained(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainedWaiters.push(resolve));
  }

  /** Stores a packet (mqtt.js calls this); `cb` runs once it is durable on disk, or with the error. */
  put(packet: Packet, cb: DoneCallback): this {
    const messageId = packet.messageId;
    if (messageId === undefined) {
      cb(new Error("FileStore: a packet without a messageId cannot be stored"));
      return this;
    }
    let bytes: number;
    const seq = this.#sequence + 1;
    try {
      bytes = this.#queue.put(seq, messageId, packet);
    } catch (error) {
      cb(error instanceof Error ? error : new Error(String(error)));
      return this;
    }
    this.#sequence = seq;
    // A packet put again (PUBREL after PUBREC) moves to the end.
    if (this.#packets.delete(messageId)) this.#liveBytes -= this.#bytes[messageId]!;
    this.#packets.set(messageId, packet);
    this.#seqs[messageId] = seq;
    this.#bytes[messageId] = bytes;
    this.#liveBytes += bytes;
    this.#callbacks.push(cb);
    this.#schedule(true);
    return this;
  }

  /** The stored packets, in the order they were put (mqtt.js sends them again from this on connect). */
  createStream(): Readable {
    return Readable.from([...this.#packets.values()], { objectMode: true });
  }

  /** Removes an acknowledged packet and calls back with it (at once; the removal is written with the next batch). */
  del(packet: Pick<Packet, "messageId">, cb: PacketCallback): this {
    const messageId = packet.messageId!;
    const stored = this.#packets.get(messageId);
    if (!stored) {
      cb(new Error("missing packet"));
      return this;
    }
    this.#packets.delete(messageId);
    this.#liveBytes -= this.#bytes[messageId]!;
    this.#queue.del(++this.#sequence, messageId);
    this.#schedule(false);
    if (this.#pending.delete(messageId) && this.#pending.size === 0) {
      for (const waiter of this.#drainedWaiters.splice(0)) waiter();
    }
    cb(undefined, stored);
    return this;
  }

  /** Calls back with the stored packet of that id, or an error when there is none. */
  get(packet: Pick<Packet, "messageId">, cb: PacketCallback): this {
    const stored = this.#packets.get(packet.messageId!);
    if (stored) cb(undefined, stored);
    else cb(new Error("missing packet"));
    return this;
  }

  /**
   * Writes what is still queued, then closes the segment file: nothing of the store stays open. mqtt.js calls this
   * when its client ends; a store closed and used again opens its file again.
   */
  close(cb: DoneCallback): void {
    this.#drain()
      .then(() => this.#closeFile())
      .then(
        () => cb(),
        (error: unknown) => cb(unusable(this.#dir, error)),
      );
  }

  /**
   * Writes the queue soon: after the code running now for a put (everything put in this turn of the event loop
   * goes in one batch), in the next turn for a del (nobody waits for it: it goes with the puts that follow).
   */
  #schedule(urgent: boolean): void {
    if (urgent) {
      // While a sync is under way (or segments are being changed), the one finishing writes the queue.
      if (this.#scheduled || this.#syncing !== undefined || this.#exclusive !== undefined) return;
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        this.#pump();
      });
    } else {
      this.#later ??= setImmediate(() => {
        this.#later = undefined;
        this.#pump();
      });
    }
  }

  /** The puts of the queue, which is about to be written. */
  #takeBatch(): Batch {
    const batch = { callbacks: this.#callbacks, firstSeq: this.#queueSeq, lastSeq: this.#sequence };
    this.#callbacks = [];
    this.#queueSeq = this.#sequence + 1;
    return batch;
  }

  /**
   * Writes the queue: with one synchronous write to the segment file (into the page cache, no wait for the disk)
   * and an fdatasync in the background, after which its puts call back. What is put meanwhile waits in the queue
   * and is written when the sync is done (group commit). Opening, rolling and compacting segments is left to
   * {@link FileStore.#writeAlone}.
   */
  #pump(): void {
    if (this.#exclusive !== undefined || this.#queue.length === 0) return;
    const segment = this.#segments.at(-1);
    const fd = this.#fd;
    if (
      segment === undefined ||
      fd === undefined ||
      this.#rollNext ||
      (segment.bytes > 0 && segment.bytes + this.#queue.length > SEGMENT_BYTES) ||
      this.#compactionDue()
    ) {
      this.#exclusive = this.#writeAlone().finally(() => {
        this.#exclusive = undefined;
        this.#settle();
        this.#pump();
      });
      return;
    }
    if (this.#syncing !== undefined) return;
    const records = this.#queue;
    const batch = this.#takeBatch();
    try {
      let done = 0;
      while (done < records.length)
        done += writeSync(fd, records.data, done, records.length - done, segment.bytes + done);
    } catch (error) {
      records.clear();
      // Cut off what was half written, so later appends follow intact records; failing that, start afresh.
      try {
        ftruncateSync(fd, segment.bytes);
      } catch {
        this.#rollNext = true;
      }
      this.#release(batch, error);
      return;
    }
    segment.bytes += records.length;
    this.#totalBytes += records.length;
    records.clear();
    if (batch.callbacks.length === 0) this.#dirty = true;
    else this.#sync(fd, batch);
  }

  /** Starts the fdatasync of what was written; when it is done, the batch is durable and the queue is written. */
  #sync(fd: number, batch: Batch): void {
    this.#syncing = batch;
    this.#dirty = false;
    fdatasync(fd, (error) => {
      this.#syncing = undefined;
      // After a failed sync the kernel may have dropped what it could not write: later appends go elsewhere.
      if (error) this.#rollNext = true;
      // The next batch first: its sync runs while this one's callbacks send their messages.
      this.#pump();
      this.#release(batch, error ?? undefined);
      this.#settle();
    });
  }

  /**
   * Writes the queue when segments have to be opened, started or compacted: after the syncs under way, with the
   * file's own fdatasync awaited; then compacts if that is due.
   */
  async #writeAlone(): Promise<void> {
    while (this.#syncing !== undefined) await new Promise<void>((resolve) => this.#settled.push(resolve));
    const records = this.#queue;
    const batch = this.#takeBatch();
    this.#queue = this.#spare;
    let failure: unknown;
    try {
      await this.#appendRecords(records);
    } catch (error) {
      failure = error;
    }
    records.clear();
    this.#spare = records;
    this.#release(batch, failure);
    // A compaction that fails leaves the old segments as they were: the next batch tries again.
    if (this.#compactionDue()) await this.#compact().catch(() => undefined);
  }

  /** Calls back the puts of a batch; when it could not be written, its messages are not stored. */
  #release(batch: Batch, error: unknown): void {
    const failure = error === undefined ? undefined : unusable(this.#dir, error);
    if (failure) {
      for (const messageId of [...this.#packets.keys()]) {
        const seq = this.#seqs[messageId]!;
        if (seq < batch.firstSeq || seq > batch.lastSeq) continue;
        this.#packets.delete(messageId);
        this.#liveBytes -= this.#bytes[messageId]!;
        // A del keeps a copy that reached the disk anyway from coming back.
        this.#queue.del(++this.#sequence, messageId);
        this.#schedule(false);
      }
    }
    for (const cb of batch.callbacks) {
      try {
        cb(failure);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #settle(): void {
    for (const resolve of this.#settled.splice(0)) resolve();
  }

  /** Resolves once nothing is queued, being written or being synced. */
  async #drain(): Promise<void> {
    for (;;) {
      this.#pump();
      if (this.#exclusive !== undefined) await this.#exclusive;
      else if (this.#syncing !== undefined) await new Promise<void>((resolve) => this.#settled.push(resolve));
      else if (this.#queue.length === 0) break;
    }
    if (this.#later !== undefined) {
      clearImmediate(this.#later);
      this.#later = undefined;
    }
  }

  /** More than one segment, together over the size bound, and live records less than half of them. */
  #compactionDue(): boolean {
    return (
      this.#segments.length > 1 &&
      this.#totalBytes > SEGMENT_BYTES &&
      this.#liveBytes < this.#totalBytes * LIVE_SHARE_MIN
    );
  }

  /**
   * Copies the live messages into new segments, syncs them, then deletes the segments before them. Every put and
   * del made so far is on disk already, so the copies need no dels; a copy beside its original (should a crash
   * come before the deletes) has the same sequence number and changes nothing.
   */
  async #compact(): Promise<void> {
    const old = this.#segments.length;
    const copies = new RecordBuffer();
    // The copies go to new segments; the file of the last old one is closed even when there is nothing to copy.
    await this.#closeFile();
    this.#rollNext = true;
    // A snapshot: puts and dels made meanwhile are queued, and written after the copies.
    for (const [messageId, packet] of [...this.#packets]) {
      const seq = this.#seqs[messageId]!;
      const bytes = copies.put(seq, messageId, packet);
      if (this.#packets.get(messageId) === packet && this.#seqs[messageId] === seq) {
        this.#liveBytes += bytes - this.#bytes[messageId]!;
        this.#bytes[messageId] = bytes;
      }
      if (copies.length >= SEGMENT_BYTES) {
        await this.#appendRecords(copies);
        copies.clear();
      }
    }
    await this.#appendRecords(copies);
    // Oldest first: a crash in between leaves the later dels without the puts they delete, never the reverse.
    for (const segment of this.#segments.splice(0, old)) {
      this.#totalBytes -= segment.bytes;
      await unlinkAsync(join(this.#dir, segmentName(segment.number))).catch(() => undefined);
    }
  }

  /** Appends the records to the last segment (starting new ones at the size bound), each segment synced once. */
  async #appendRecords(records: RecordBuffer): Promise<void> {
    const { data, ends } = records;
    let from = 0;
    let next = 0;
    while (next < ends.length) {
      let segment = this.#segments.at(-1);
      if (
        segment === undefined ||
        this.#rollNext ||
        (segment.bytes > 0 && segment.bytes + ends[next]! - from > SEGMENT_BYTES)
      )
        segment = await this.#startSegment();
      const fd = await this.#open(segment);
      // The records that fit (at least one: a record larger than a segment gets one of its own).
      let to = ends[next++]!;
      while (next < ends.length && segment.bytes + ends[next]! - from <= SEGMENT_BYTES) to = ends[next++]!;
      try {
        await writeAll(fd, data.subarray(from, to), segment.bytes);
        await fdatasyncAsync(fd);
        this.#dirty = false;
      } catch (error) {
        // Cut off what was half written, so later appends follow intact records; failing that, start afresh.
        await ftruncateAsync(fd, segment.bytes).catch(() => (this.#rollNext = true));
        throw error;
      }
      segment.bytes += to - from;
      this.#totalBytes += to - from;
      from = to;
    }
  }

  /** Syncs what nobody waited for yet and closes the segment file. */
  async #closeFile(): Promise<void> {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    try {
      if (this.#dirty) await fdatasyncAsync(fd);
      this.#dirty = false;
    } finally {
      await closeAsync(fd);
    }
  }

  async #open(segment: Segment): Promise<number> {
    this.#fd ??= await openAsync(join(this.#dir, segmentName(segment.number)), "r+");
    return this.#fd;
  }

  /** Creates the next segment file and syncs the folder, so the file is there after a crash. */
  async #startSegment(): Promise<Segment> {
    const segment: Segment = { number: ++this.#lastNumber, bytes: 0 };
    await this.#closeFile();
    this.#fd = await openAsync(join(this.#dir, segmentName(segment.number)), "w");
    const dir = await openAsync(this.#dir, "r");
    try {
      await fsyncAsync(dir);
    } finally {
      await closeAsync(dir);
    }
    this.#segments.push(segment);
    this.#rollNext = false;
    return segment;
  }
}
