import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { open } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import type { RawFinding } from "./raw-finding.js";
import type { SecurityConfig } from "./schema.js";

/**
 * The largest file of each kind that is read, in bytes: a bound so that a path to `/dev/zero`, a huge log or a
 * wrong file cannot exhaust memory. A system CA bundle is about 200 KiB; a CRL of a large CA a few MiB.
 */
export const FILE_LIMITS = {
  /** A configuration file. */
  config: 1024 * 1024,
  /** A certificate, or a certificate and its intermediates. */
  certificate: 1024 * 1024,
  /** A trust-store file (one CA or a whole bundle). */
  bundle: 8 * 1024 * 1024,
  /** A private key. */
  key: 256 * 1024,
  /** A PKCS#12 bundle. */
  pkcs12: 1024 * 1024,
  /** A CRL. */
  crl: 32 * 1024 * 1024,
  /** A file of any of these kinds, not known before it is read (what an inspector reads): the largest limit. */
  any: 32 * 1024 * 1024,
} as const;

/** Which kind of file a configuration field names. */
export type FileKind = keyof typeof FILE_LIMITS;

const KIND_NAMES: Readonly<Record<FileKind, string>> = {
  config: "a configuration file",
  certificate: "a certificate file",
  bundle: "a trust-store file",
  key: "a private key file",
  pkcs12: "a PKCS#12 file",
  crl: "a CRL file",
  any: "a file",
};

/** One file (or inline PEM) a configuration refers to. */
export interface FileReference {
  /** The configuration path, e.g. `security.trustStore[0]`. */
  readonly path: string;
  /** The value as written: a path, or inline PEM. */
  readonly value: string;
  readonly kind: FileKind;
}

/** A file as read: its bytes and where they came from. */
export interface LoadedFile {
  readonly bytes: Buffer;
  /** The path as written, or `inline PEM at <config path>`. */
  readonly source: string;
}

/** What reading every reference gave: the bytes, or the finding that says why not, by configuration path. */
export type FileTable = ReadonlyMap<string, LoadedFile | RawFinding>;

const FILE_REMEDY =
  "Check the path: relative paths are read from the configuration file's folder (or baseDir for an object).";

/**
 * Every file a parsed configuration refers to, honouring the grey-out: nothing is read for a section that is off
 * (TLS disabled, the broker not checked, no client certificate sent).
 */
export function fileReferences(config: SecurityConfig): FileReference[] {
  const { security } = config;
  const refs: FileReference[] = [];
  if (!security.enableTls) return refs;
  if (security.checkServerCertificate && security.trustStore !== undefined) {
    const entries = Array.isArray(security.trustStore) ? security.trustStore : [security.trustStore];
    entries.forEach((value, i) =>
      refs.push({
        path: Array.isArray(security.trustStore) ? `security.trustStore[${i}]` : "security.trustStore",
        value,
        kind: "bundle",
      }),
    );
  }
  const ks = security.keyStore;
  if (security.sendClientCertificate && ks) {
    if (ks.pkcs12 !== undefined) {
      if (ks.certificate === undefined && ks.privateKey === undefined)
        refs.push({ path: "security.keyStore.pkcs12", value: ks.pkcs12, kind: "pkcs12" });
    } else if (ks.certificate !== undefined && ks.privateKey !== undefined) {
      refs.push({ path: "security.keyStore.certificate", value: ks.certificate, kind: "certificate" });
      refs.push({ path: "security.keyStore.privateKey", value: ks.privateKey, kind: "key" });
    }
  }
  if (security.checkServerCertificate)
    security.crl.forEach((value, i) => refs.push({ path: `security.crl[${i}]`, value, kind: "crl" }));
  return refs;
}

function describeNonFile(stats: Stats): string {
  if (stats.isDirectory()) return "a folder";
  if (stats.isFIFO()) return "a named pipe (FIFO)";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  if (stats.isSocket()) return "a socket";
  return "not a regular file";
}

function tooLarge(ref: FileReference, size: number): RawFinding {
  return {
    code: "FILE_UNREADABLE",
    path: ref.path,
    message: `The file ${ref.value} is ${size > FILE_LIMITS[ref.kind] * 4 ? "far " : ""}larger than ${KIND_NAMES[ref.kind]} can be (${FILE_LIMITS[ref.kind]} bytes at most): it is not the file meant here.`,
    remedy: FILE_REMEDY,
  };
}

function notRegular(ref: FileReference, stats: Stats): RawFinding {
  return {
    code: "FILE_UNREADABLE",
    path: ref.path,
    message: `${ref.value} is ${describeNonFile(stats)}, not a file: only regular files are read.`,
    remedy: FILE_REMEDY,
  };
}

function failure(ref: FileReference, file: string, error: unknown): RawFinding {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR"
    ? {
        code: "FILE_NOT_FOUND",
        path: ref.path,
        message: `The file ${ref.value} does not exist (looked for ${file}).`,
        remedy: FILE_REMEDY,
      }
    : {
        code: "FILE_UNREADABLE",
        path: ref.path,
        message: `The file ${ref.value} cannot be read (${code ?? "error"}).`,
        remedy: "Check the file's permissions for the user this runs as.",
      };
}

function inline(ref: FileReference): LoadedFile | undefined {
  return ref.value.includes("-----BEGIN ")
    ? { bytes: Buffer.from(ref.value), source: `inline PEM at ${ref.path}` }
    : undefined;
}

const fileOf = (ref: FileReference, baseDir: string) =>
  isAbsolute(ref.value) ? ref.value : join(baseDir, ref.value);

/**
 * A read buffer of the size the file has (one byte more, to notice a file that grows while it is read), never more
 * than the kind's limit: reading thousands of small files costs what they weigh, not thousands of limits.
 */
function readBuffer(size: number, limit: number): Buffer {
  return Buffer.alloc(Math.min(size, limit) + 1);
}

/** A full read buffer, twice as large, up to one byte beyond the limit (which then reports the file too large). */
function grow(buffer: Buffer, limit: number): Buffer {
  const next = Buffer.alloc(Math.min(buffer.length * 2, limit + 1));
  buffer.copy(next);
  return next;
}

/**
 * Reads one referenced file without blocking: only a regular file, and at most its kind's limit (a file that
 * grows while it is read is cut there and reported). A FIFO, a device or a folder is a finding, never a wait.
 */
async function readOne(ref: FileReference, baseDir: string): Promise<LoadedFile | RawFinding> {
  const literal = inline(ref);
  if (literal) return literal;
  const file = fileOf(ref, baseDir);
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO with no writer must not wait; it is refused below as not a regular file.
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return failure(ref, file, error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return notRegular(ref, stats);
    const limit = FILE_LIMITS[ref.kind];
    if (stats.size > limit) return tooLarge(ref, stats.size);
    let buffer = readBuffer(stats.size, limit);
    let length = 0;
    for (;;) {
      if (length === buffer.length) buffer = grow(buffer, limit);
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) return tooLarge(ref, length);
    }
    return { bytes: Buffer.from(buffer.subarray(0, length)), source: ref.value };
  } catch (error) {
    return failure(ref, file, error);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The same as {@link readOne}, blocking: only for the deprecated synchronous `validateConfig`. */
function readOneSync(ref: FileReference, baseDir: string): LoadedFile | RawFinding {
  const literal = inline(ref);
  if (literal) return literal;
  const file = fileOf(ref, baseDir);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return failure(ref, file, error);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return notRegular(ref, stats);
    const limit = FILE_LIMITS[ref.kind];
    if (stats.size > limit) return tooLarge(ref, stats.size);
    let buffer = readBuffer(stats.size, limit);
    let length = 0;
    for (;;) {
      if (length === buffer.length) buffer = grow(buffer, limit);
      const bytesRead = readSync(fd, buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) return tooLarge(ref, length);
    }
    return { bytes: Buffer.from(buffer.subarray(0, length)), source: ref.value };
  } catch (error) {
    return failure(ref, file, error);
  } finally {
    closeSync(fd);
  }
}

/** An item of a certificate store, as a {@link StoreResolver} gives it. */
export interface ResolvedStoreItem {
  /** Its certificates, PEM, leaf first for a certificate-and-key item. */
  readonly certificates: readonly string[];
  /**
   * Reads the private key, PEM (a certificate-and-key item only): called only when a key store needs it, so a trust
   * store never asks for the store's passphrase. Held in memory, never logged.
   */
  readonly privateKey?: (() => Promise<string>) | undefined;
}

/**
 * Where `store:NAME` references are looked up. This package defines it and never imports a store:
 * `@proj/cert-store`'s `storeResolver` implements it. A failure is thrown as an error whose `code` is one of the
 * `STORE_*` finding codes (`STORE_ITEM_NOT_FOUND`, `STORE_PASSPHRASE_WRONG`, ...); it becomes that finding.
 *
 * @example
 * ```ts
 * const items = new Map<string, ResolvedStoreItem>([["broker-ca", { certificates: [caPem] }]]);
 * const store: StoreResolver = {
 *   async resolve(name) {
 *     const item = items.get(name);
 *     if (!item) throw Object.assign(new Error(`no item ${name}`), { code: "STORE_ITEM_NOT_FOUND" });
 *     return item;
 *   },
 * };
 * const loaded = await loadConfig({ broker: { url: "mqtts://broker:8883" }, security: { trustStore: ["store:broker-ca"] } }, { store });
 * ```
 */
export interface StoreResolver {
  resolve(name: string): Promise<ResolvedStoreItem>;
}

const STORE_PREFIX = "store:";
const STORE_CODES = new Set([
  "STORE_UNAVAILABLE",
  "STORE_ITEM_NOT_FOUND",
  "STORE_ITEM_INVALID",
  "STORE_PASSPHRASE_MISSING",
  "STORE_PASSPHRASE_WRONG",
]);

/** A `store:NAME` reference read through the resolver: certificates for a trust store or chain, the key for a key. */
async function readStored(
  ref: FileReference,
  store: StoreResolver | undefined,
  items: Map<string, Promise<ResolvedStoreItem>>,
): Promise<LoadedFile | RawFinding> {
  const name = ref.value.slice(STORE_PREFIX.length);
  if (!store) {
    return {
      code: "STORE_UNAVAILABLE",
      path: ref.path,
      message: `${ref.value} names an item of a certificate store, but no store was given.`,
      remedy:
        "Pass the store to loadConfig ({ store: storeResolver(await openCertStore(url)) }); the CLI opens --store or MQTT_TLS_STORE.",
    };
  }
  let pending = items.get(name);
  if (!pending) {
    pending = store.resolve(name);
    items.set(name, pending);
  }
  try {
    const item = await pending;
    const source = `store item ${name}`;
    if (ref.kind === "key") {
      if (item.privateKey === undefined) {
        return {
          code: "STORE_ITEM_INVALID",
          path: ref.path,
          message: `The store item ${name} holds certificates only: a key store needs a certificate-and-key item.`,
          remedy: `Add the key to it: mqtt-tls store add ${name} --cert CHAIN --key KEY.`,
        };
      }
      return { bytes: Buffer.from(await item.privateKey()), source };
    }
    return { bytes: Buffer.from(item.certificates.join("")), source };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      code:
        typeof code === "string" && STORE_CODES.has(code)
          ? (code as RawFinding["code"])
          : "STORE_UNAVAILABLE",
      path: ref.path,
      message: `${ref.value}: ${(error as Error).message}`,
      ...(typeof (error as { remedy?: unknown }).remedy === "string"
        ? { remedy: (error as { remedy: string }).remedy }
        : {}),
    };
  }
}

/** Reads every reference once, concurrently, without blocking the event loop; `store:NAME` through the resolver. */
export async function readReferences(
  refs: readonly FileReference[],
  baseDir: string,
  store?: StoreResolver,
): Promise<FileTable> {
  const items = new Map<string, Promise<ResolvedStoreItem>>();
  const read = await Promise.all(
    refs.map(
      async (ref) =>
        [
          ref.path,
          ref.value.startsWith(STORE_PREFIX)
            ? await readStored(ref, store, items)
            : await readOne(ref, baseDir),
        ] as const,
    ),
  );
  return new Map(read);
}

/** Reads every reference once, blocking (the deprecated synchronous `validateConfig` only: it reads no store). */
export function readReferencesSync(refs: readonly FileReference[], baseDir: string): FileTable {
  return new Map(
    refs.map(
      (ref) =>
        [
          ref.path,
          ref.value.startsWith(STORE_PREFIX)
            ? {
                code: "STORE_UNAVAILABLE" as const,
                path: ref.path,
                message: `${ref.value} names a store item: the synchronous validateConfig reads no store.`,
                remedy: "Use loadConfig with { store }.",
              }
            : readOneSync(ref, baseDir),
        ] as const,
    ),
  );
}

/**
 * Reads a whole file of a kind without blocking, only if it is a regular file and no larger than the kind's
 * `FILE_LIMITS` entry: a FIFO, a device (`/dev/zero`), a folder or a huge file comes back as a finding
 * (`FILE_UNREADABLE`, `FILE_NOT_FOUND`) that says what the path is, never a hang.
 *
 * @example
 * ```ts
 * const read = await readBoundedFile("certs/broker.pem", "certificate");
 * if ("bytes" in read) console.log(read.bytes.length);
 * else console.error(read.code, read.message);
 * ```
 */
export async function readBoundedFile(
  file: string,
  kind: FileKind,
  shownAs = file,
): Promise<LoadedFile | RawFinding> {
  const result = await readOne({ path: "", value: file, kind }, "");
  if ("bytes" in result) return { ...result, source: shownAs };
  const { path: _path, ...finding } = result;
  const message = finding.message
    .replace(`The file ${file}`, `The ${KIND_NAMES[kind].replace(/^an? /, "")} ${shownAs}`)
    .replace(/ \(looked for [^)]*\)/, "")
    .replaceAll(file, shownAs);
  return { ...finding, message };
}
