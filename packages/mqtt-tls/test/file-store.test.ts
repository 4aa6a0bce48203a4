import { createTestPki, startTestBroker, type TestBroker } from "@proj/test-broker";
import type { IPublishPacket, Packet } from "mqtt";
import { spawn } from "node:child_process";
import { once } from "node:events";
import {
  appendFileSync,
  chmodSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32 } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { FileStore, connectSecure, isMqttTlsError } from "../src/index.js";

const folders: string[] = [];
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), "file-store-"));
  folders.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of folders.splice(0)) {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
});

function publish(messageId: number, body = `message ${messageId}`): IPublishPacket {
  return {
    cmd: "publish",
    topic: "plant/line-1",
    payload: Buffer.from(body),
    qos: 1,
    retain: false,
    dup: false,
    messageId,
  };
}

const put = (store: FileStore, packet: Packet) =>
  new Promise<void>((resolve, reject) => store.put(packet, (error) => (error ? reject(error) : resolve())));
const get = (store: FileStore, messageId: number) =>
  new Promise<Packet>((resolve, reject) =>
    store.get({ messageId }, (error, packet) => (error ? reject(error) : resolve(packet!))),
  );
const del = (store: FileStore, messageId: number) =>
  new Promise<Packet>((resolve, reject) =>
    store.del({ messageId }, (error, packet) => (error ? reject(error) : resolve(packet!))),
  );
const close = (store: FileStore) =>
  new Promise<void>((resolve, reject) => store.close((error) => (error ? reject(error) : resolve())));
async function streamed(store: FileStore): Promise<Packet[]> {
  const packets: Packet[] = [];
  for await (const packet of store.createStream()) packets.push(packet as Packet);
  return packets;
}
const text = (packet: Packet | undefined) => String((packet as IPublishPacket | undefined)?.payload);
const ids = (packets: Packet[]) => packets.map((p) => `${p.cmd} ${p.messageId}`);
const segments = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".seg"));
const diskBytes = (dir: string) =>
  segments(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
const lastSegment = (dir: string) => join(dir, segments(dir).sort().at(-1)!);

describe("FileStore", () => {
  it("gets, deletes and streams packets in the order they were put; a packet put again moves to the end", async () => {
    const store = new FileStore(folder());
    await Promise.all([put(store, publish(10)), put(store, publish(11)), put(store, publish(12))]);
    expect(store.size).toBe(3);
    expect(text(await get(store, 11))).toBe("message 11");
    expect((await del(store, 11)).messageId).toBe(11);
    await expect(get(store, 11)).rejects.toThrow("missing packet");
    await expect(del(store, 11)).rejects.toThrow("missing packet");
    // QoS 2: PUBREC replaces the PUBLISH with its PUBREL, under the same packet id.
    await put(store, { cmd: "pubrel", messageId: 10 });
    expect(ids(await streamed(store))).toEqual(["publish 12", "pubrel 10"]);
    await close(store);
  });

  it("opens a folder again with the same packets, in the same order, MQTT 5 properties included", async () => {
    const dir = folder();
    const store = new FileStore(dir);
    const v5: IPublishPacket = {
      ...publish(3, "with properties"),
      qos: 2,
      retain: true,
      properties: { messageExpiryInterval: 60, userProperties: { line: "1" } },
    };
    const utf8: IPublishPacket = {
      ...publish(9),
      topic: "plant/Öfen/temperatur-°C",
      payload: "21,5 °C grüße",
    };
    for (const packet of [publish(7), v5, publish(1), utf8]) await put(store, packet);
    await put(store, { cmd: "pubrel", messageId: 7 });
    await del(store, 1);
    await close(store);

    const again = new FileStore(dir);
    expect(again.size).toBe(3);
    expect([again.skippedRecords, again.truncatedBytes]).toEqual([0, 0]);
    const packets = await streamed(again);
    expect(ids(packets)).toEqual(["publish 3", "publish 9", "pubrel 7"]);
    expect(packets[1]).toMatchObject({ topic: "plant/Öfen/temperatur-°C" });
    expect(text(packets[1])).toBe("21,5 °C grüße");
    expect(packets[0]).toMatchObject({
      topic: "plant/line-1",
      qos: 2,
      retain: true,
      properties: { messageExpiryInterval: 60, userProperties: { line: "1" } },
    });
    expect(text(packets[0])).toBe("with properties");
    // The ids found at start are replayed first: drained() resolves once they are all acknowledged.
    let drained = false;
    void again.drained().then(() => (drained = true));
    await del(again, 3);
    await del(again, 9);
    await del(again, 7);
    await Promise.resolve();
    expect(drained).toBe(true);
    await close(again);
    expect(new FileStore(dir).size).toBe(0);
  });

  it("calls back from put once the message is on disk, many puts of one moment in one batch", async () => {
    const dir = folder();
    const store = new FileStore(dir);
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        put(store, publish(i + 1)).then(() => {
          // Each acknowledged message is there for a process that opens the folder now.
          if (i === 0) expect(new FileStore(dir).size).toBe(500);
          order.push(i + 1);
        }),
      ),
    );
    expect(order).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    await close(store);
  });

  it("frames every record as [length u32][CRC-32 u32][payload], the CRC as zlib computes it", async () => {
    const dir = folder();
    const store = new FileStore(dir);
    for (const [id, size] of [
      [1, 5],
      [2, 100],
      [3, 300],
      [4, 5000],
    ] as const)
      await put(store, publish(id, "x".repeat(size)));
    await del(store, 2);
    await close(store);
    const data = readFileSync(lastSegment(dir));
    const lengths: number[] = [];
    for (let at = 0; at < data.length;) {
      const length = data.readUInt32LE(at);
      expect(data.readUInt32LE(at + 4)).toBe(crc32(data.subarray(at + 8, at + 8 + length)));
      lengths.push(length);
      at += 8 + length;
    }
    expect(lengths).toHaveLength(5);
  });

  it("cuts off a torn last record (cut short, garbage after it) and appends after the intact ones", async () => {
    const dir = folder();
    const store = new FileStore(dir);
    for (let id = 1; id <= 5; id++) await put(store, publish(id));
    await close(store);
    const file = lastSegment(dir);
    const intact = statSync(file).size;
    truncateSync(file, intact - 3);
    appendFileSync(file, Buffer.from("\x17garbage after a crash\xff\x00\x01"));

    const reopened = new FileStore(dir);
    expect(ids(await streamed(reopened))).toEqual(["publish 1", "publish 2", "publish 3", "publish 4"]);
    expect(reopened.skippedRecords).toBe(0);
    expect(reopened.truncatedBytes).toBeGreaterThan(0);
    await put(reopened, publish(6));
    await close(reopened);

    const third = new FileStore(dir);
    expect([third.size, third.skippedRecords, third.truncatedBytes]).toEqual([5, 0, 0]);
    await close(third);
  });

  it("skips a damaged record in the middle, counts it and reads on", async () => {
    const dir = folder();
    const store = new FileStore(dir);
    for (let id = 1; id <= 6; id++) await put(store, publish(id));
    await close(store);
    const file = lastSegment(dir);
    const data = readFileSync(file);
    const record = data.length / 6;
    // A flipped payload byte in the second record, a garbled length in the fourth.
    data[record + 20]! ^= 0xff;
    data.writeUInt32LE(0x00ffffff, 3 * record);
    writeFileSync(file, data);

    const reopened = new FileStore(dir);
    expect(ids(await streamed(reopened))).toEqual(["publish 1", "publish 3", "publish 5", "publish 6"]);
    expect(reopened.skippedRecords).toBe(2);
    expect(reopened.truncatedBytes).toBe(0);
    await close(reopened);
  });

  it("compacts: disk usage falls back once most messages are acknowledged, the live ones stay", async () => {
    const dir = folder();
    const store = new FileStore(dir);
    const kilobyte = (id: number) => publish(id, `message ${id} `.padEnd(1024, "."));
    for (let batch = 0; batch < 12; batch++)
      await Promise.all(Array.from({ length: 500 }, (_, i) => put(store, kilobyte(batch * 500 + i + 1))));
    const peak = diskBytes(dir);
    expect(peak).toBeGreaterThan(6_000_000);
    expect(segments(dir).length).toBeGreaterThan(1);
    // Every message but every 1000th is acknowledged.
    for (let id = 1; id <= 6000; id++) if (id % 1000 !== 0) await del(store, id);
    await put(store, kilobyte(6001));
    // Compaction follows the batch that made it due; close() waits for it.
    await close(store);
    expect(diskBytes(dir)).toBeLessThan(100_000);
    expect(segments(dir)).toHaveLength(1);

    const reopened = new FileStore(dir);
    const live = [1000, 2000, 3000, 4000, 5000, 6000, 6001];
    expect(ids(await streamed(reopened))).toEqual(live.map((id) => `publish ${id}`));
    expect(text(await get(reopened, 3000))).toBe(text(kilobyte(3000)));
    expect([reopened.skippedRecords, reopened.truncatedBytes]).toEqual([0, 0]);
    await close(reopened);
  });

  it("leaves nothing running and no file open after close, and can be used again", async () => {
    const dir = folder();
    const watched = new Set(["FSReqCallback", "FSReqPromise", "FileHandle", "Immediate", "Timeout"]);
    const active = () =>
      process
        .getActiveResourcesInfo()
        .filter((kind) => watched.has(kind))
        .sort();
    const openFiles = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
        } catch {
          return false;
        }
      });
    const before = active();
    const store = new FileStore(dir);
    const puts = Array.from({ length: 100 }, (_, i) => put(store, publish(i + 1)));
    await close(store);
    await Promise.all(puts);
    expect(active()).toEqual(before);
    if (process.platform === "linux") expect(openFiles()).toEqual([]);

    await put(store, publish(101));
    await close(store);
    expect(active()).toEqual(before);
    expect(new FileStore(dir).size).toBe(101);
  });

  it("refuses a folder it cannot use with STORE_UNUSABLE and a remedy", () => {
    const dir = folder();
    const file = join(dir, "outbox");
    writeFileSync(file, "not a folder");
    for (const path of [file, join(file, "below")]) {
      const error = (() => {
        try {
          new FileStore(path);
        } catch (caught) {
          return caught;
        }
      })();
      expect(isMqttTlsError(error) && error.code).toBe("STORE_UNUSABLE");
      expect(isMqttTlsError(error) && error.remedy).toMatch(/is a file/);
    }
  });

  it("refuses a folder it may not create (sysfs takes no new folders, not even from root) with STORE_UNUSABLE", () => {
    expect(() => new FileStore("/sys/mqtt-tls-outbox")).toThrow(
      expect.objectContaining({ code: "STORE_UNUSABLE" }),
    );
  });

  it("keeps every acknowledged message when its process is killed mid-stream", async () => {
    const dir = folder();
    const fixture = fileURLToPath(new URL("fixtures/file-store-writer.ts", import.meta.url));
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=@proj/source", fixture, dir, "60000"],
      {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const acknowledged = new Set<number>();
    const deleted = new Set<number>();
    let pending = "";
    let killed = false;
    const killAfter = 5000 + Math.floor(Math.random() * 5000);
    child.stdout.on("data", (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const [what, id] = line.split(" ");
        if (what === "put") acknowledged.add(Number(id));
        if (what === "del") deleted.add(Number(id));
      }
      // Past the first compaction (4 MiB of 1 KiB messages), at a moment that differs from run to run.
      if (!killed && acknowledged.size >= killAfter) {
        killed = true;
        process.kill(child.pid!, "SIGKILL");
      }
    });
    const [, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
    expect(signal).toBe("SIGKILL");
    expect(acknowledged.size).toBeGreaterThanOrEqual(killAfter);

    const store = new FileStore(dir);
    expect(store.skippedRecords).toBe(0);
    const missing: number[] = [];
    for (const id of acknowledged) {
      if (deleted.has(id)) continue;
      const packet = await get(store, id).catch(() => undefined);
      if (!text(packet).startsWith(`message ${id} `)) missing.push(id);
    }
    expect(missing).toEqual([]);
    // The last 1000 acknowledged are kept by the writer: they are all there, in order.
    const kept = (await streamed(store)).map((p) => p.messageId!).filter((id) => acknowledged.has(id));
    expect(kept.length).toBeGreaterThanOrEqual(1000);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    await close(store);
  });

  it("keeps unacknowledged QoS 1 messages across a restart of the client process, and sends them first", async () => {
    await using pki = await createTestPki({ name: "mqtt-tls-store" });
    let broker: TestBroker = await startTestBroker({ pki, requireClientCert: true });
    const port = broker.port;
    const outbox = join(pki.dir, "outbox");
    const config = (clientId: string) => ({
      broker: { url: broker.url, clientId, connectTimeoutMs: 2000 },
      security: {
        trustStore: [pki.caFile],
        sendClientCertificate: true,
        keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
      },
    });
    const options = { baseDir: "/", backoff: { minMs: 50, maxMs: 200 } };

    await using subscriber = await connectSecure(config("scada-store"), options);
    await subscriber.subscribe("plant/outbox", { qos: 1 });
    const received: string[] = [];
    subscriber.on("message", (_topic, payload) => received.push(payload.toString()));

    // The first process publishes while the broker is down, then dies before anything is acknowledged.
    const firstStore = new FileStore(outbox);
    const first = await connectSecure(config("plc-store"), { ...options, outgoingStore: firstStore });
    await broker.close();
    const lost = Array.from({ length: 20 }, (_, i) =>
      first.publish("plant/outbox", `before-${i}`, { qos: 1 }).catch(() => "not acknowledged"),
    );
    await expect.poll(() => firstStore.size, { timeout: 3000 }).toBe(20);
    // Ending the client closes its store, which writes what it holds.
    await first.end(true);
    expect(await Promise.all(lost)).toEqual(Array(20).fill("not acknowledged"));

    // The broker returns; a new process with the same outbox sends the 20, then what it publishes itself.
    broker = await startTestBroker({ pki, requireClientCert: true, port });
    await expect.poll(() => subscriber.state, { timeout: 5000 }).toBe("connected");
    await subscriber.subscribe("plant/outbox", { qos: 1 });
    const store = new FileStore(outbox);
    expect(store.size).toBe(20);
    await using second = await connectSecure(config("plc-store"), { ...options, outgoingStore: store });
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => second.publish("plant/outbox", `after-${i}`, { qos: 1 })),
    );
    await expect.poll(() => new Set(received).size, { timeout: 5000 }).toBe(25);
    expect(received.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `before-${i}`));
    await second.end();
    // Everything was acknowledged: a third process finds nothing to send.
    expect(new FileStore(outbox).size).toBe(0);
    await broker.close();
  });
});
