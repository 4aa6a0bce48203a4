import {
  versionFromRow,
  type BackendFactory,
  type StoreBackend,
  type StoredVersion,
  type VersionRow,
} from "@proj/cert-store";
import Database from "better-sqlite3";
import { chmodSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('certificate', 'certificate-and-key')),
  created_at TEXT NOT NULL,
  certificates TEXT NOT NULL,
  key_iv BLOB, key_tag BLOB, key_data BLOB,
  PRIMARY KEY (name, version)
);
`;

type Row = VersionRow;

/** The file a location names: `sqlite:PATH`, `file:PATH` or a plain path. */
function fileOf(location: string): string {
  return resolve(location.replace(/^(sqlite|file):(\/\/)?/, ""));
}

/**
 * Opens (creating it if needed) a store in one SQLite file: WAL journal, full fsync at each commit (a committed item
 * survives a crash or a power cut), the file readable by its owner only.
 *
 * @example
 * ```ts
 * const backend = await openSqliteBackend("plant.db");
 * ```
 */
export async function openSqliteBackend(location: string): Promise<StoreBackend> {
  const file = fileOf(location);
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { fileMustExist: false, timeout: 5000 });
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.exec(SCHEMA);
    // The owner only (SQLite gives its -wal and -shm files the same mode).
    chmodSync(file, 0o600);
  } catch (error) {
    db.close();
    throw error;
  }
  const getMeta = db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?");
  const initMeta = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING");
  const nextVersion = db.prepare<[string], { next: number }>(
    "SELECT COALESCE(MAX(version), 0) + 1 AS next FROM items WHERE name = ?",
  );
  const insert = db.prepare(
    "INSERT INTO items (name, version, kind, created_at, certificates, key_iv, key_tag, key_data) VALUES (@name, @version, @kind, @created_at, @certificates, @key_iv, @key_tag, @key_data)",
  );
  const latest = db.prepare<[string], Row>(
    "SELECT * FROM items WHERE name = ? ORDER BY version DESC LIMIT 1",
  );
  const exact = db.prepare<[string, number], Row>("SELECT * FROM items WHERE name = ? AND version = ?");
  const history = db.prepare<[string], Row>("SELECT * FROM items WHERE name = ? ORDER BY version");
  const list = db.prepare<[], Row>(
    "SELECT i.* FROM items i JOIN (SELECT name, MAX(version) AS version FROM items GROUP BY name) n USING (name, version) ORDER BY i.name",
  );
  const removeAll = db.prepare("DELETE FROM items WHERE name = ?");
  const removeOld = db.prepare(
    "DELETE FROM items WHERE name = ? AND version NOT IN (SELECT version FROM items WHERE name = ? ORDER BY version DESC LIMIT ?)",
  );
  // Version numbers come from the same transaction that writes the row: two writers never share one.
  const insertNext = db.transaction(
    (version: Omit<StoredVersion, "version" | "createdAt">): StoredVersion => {
      const number = nextVersion.get(version.name)!.next;
      const createdAt = new Date();
      insert.run({
        name: version.name,
        version: number,
        kind: version.kind,
        created_at: createdAt.toISOString(),
        certificates: JSON.stringify(version.certificates),
        key_iv: version.key?.iv ?? null,
        key_tag: version.key?.tag ?? null,
        key_data: version.key?.ciphertext ?? null,
      });
      return { ...version, version: number, createdAt };
    },
  );
  const initMetaTx = db.transaction((key: string, value: string): string => {
    initMeta.run(key, value);
    return getMeta.get(key)!.value;
  });

  return {
    location: file,
    getMeta: async (key) => getMeta.get(key)?.value,
    initMeta: async (key, value) => initMetaTx.immediate(key, value),
    insert: async (version) => insertNext.immediate(version),
    get: async (name, version) => {
      const row = version === undefined ? latest.get(name) : exact.get(name, version);
      return row ? versionFromRow(row) : undefined;
    },
    history: async (name) => history.all(name).map(versionFromRow),
    list: async () => list.all().map(versionFromRow),
    remove: async (name, options = {}) =>
      (options.keepNewest === undefined ? removeAll.run(name) : removeOld.run(name, name, options.keepNewest))
        .changes,
    close: async () => {
      if (db.open) db.close();
    },
  };
}

/**
 * The SQLite backend for `openCertStore`: takes a file path, `sqlite:PATH` or `file:PATH` (anything but a
 * `postgres://` URL).
 *
 * @example
 * ```ts
 * await using store = await openCertStore("mqtt-tls-store.db", { backends: [sqliteBackend] });
 * ```
 */
export const sqliteBackend: BackendFactory = {
  name: "SQLite",
  accepts: (location) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(location) || /^(sqlite|file):/i.test(location),
  open: openSqliteBackend,
};
