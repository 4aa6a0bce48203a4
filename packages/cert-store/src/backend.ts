/** The two kinds of item, as Geo SCADA names them: "SSL Certificate" and "SSL Certificate and Key". */
export type ItemKind = "certificate" | "certificate-and-key";

/** A private key encrypted at rest: AES-256-GCM, the item's name as additional authenticated data. */
export interface SealedKey {
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly ciphertext: Buffer;
}

/** One version of an item as a backend stores it. */
export interface StoredVersion {
  readonly name: string;
  /** 1 for the first version, then +1 for each `add` of the same name. */
  readonly version: number;
  readonly kind: ItemKind;
  readonly createdAt: Date;
  /** The certificates, PEM, leaf first for a certificate-and-key item. */
  readonly certificates: readonly string[];
  readonly key: SealedKey | undefined;
}

/** One version as the SQL backends keep it: a row of the items table, its columns named so. */
export interface VersionRow {
  readonly name: string;
  readonly version: number;
  readonly kind: ItemKind;
  /** A `Date`, or an ISO 8601 text where the database has no time type. */
  readonly created_at: Date | string;
  /** The certificates, PEM: a JSON array, as text or already parsed. */
  readonly certificates: string | readonly string[];
  readonly key_iv: Buffer | null;
  readonly key_tag: Buffer | null;
  readonly key_data: Buffer | null;
}

/**
 * A {@link VersionRow} as a {@link StoredVersion}: what every SQL backend reads back.
 *
 * @example
 * ```ts
 * const rows: VersionRow[] = [];
 * const versions = rows.map(versionFromRow);
 * ```
 */
export function versionFromRow(row: VersionRow): StoredVersion {
  const key: SealedKey | undefined =
    row.key_iv && row.key_tag && row.key_data
      ? { iv: row.key_iv, tag: row.key_tag, ciphertext: row.key_data }
      : undefined;
  return {
    name: row.name,
    version: row.version,
    kind: row.kind,
    createdAt: new Date(row.created_at),
    certificates:
      typeof row.certificates === "string"
        ? (JSON.parse(row.certificates) as string[])
        : [...row.certificates],
    key,
  };
}

/**
 * What a store keeps its items in. One package per implementation (`@proj/cert-store-sqlite`,
 * `@proj/cert-store-postgres`); the store does the parsing, checking and encryption, a backend only keeps rows.
 * Every method is atomic on its own; `insert` gives the next version number of the name.
 */
export interface StoreBackend {
  /** Where the store is, for messages (never with a password). */
  readonly location: string;
  /** A value of the store's own settings (the key derivation parameters, the passphrase check). */
  getMeta(key: string): Promise<string | undefined>;
  /** Sets a setting unless it is set, and returns the value that is set (the first writer wins). */
  initMeta(key: string, value: string): Promise<string>;
  insert(version: Omit<StoredVersion, "version" | "createdAt">): Promise<StoredVersion>;
  /** The newest version of `name`, or a given one. */
  get(name: string, version?: number): Promise<StoredVersion | undefined>;
  /** Every version of `name`, oldest first. */
  history(name: string): Promise<StoredVersion[]>;
  /** The newest version of every item, by name. */
  list(): Promise<StoredVersion[]>;
  /** Removes every version of `name` (or those older than `keep` newest); returns how many went. */
  remove(name: string, options?: { keepNewest?: number }): Promise<number>;
  close(): Promise<void>;
}

/**
 * A backend package's entry: which store locations it opens, and how.
 *
 * @example
 * ```ts
 * const store = await openCertStore(process.env.MQTT_TLS_STORE ?? "mqtt-tls-store.db", {
 *   backends: [sqliteBackend],
 * });
 * ```
 */
export interface BackendFactory {
  /** A name for messages, e.g. "SQLite". */
  readonly name: string;
  /** Whether this backend opens `location` (a URL or a file path). */
  accepts(location: string): boolean;
  open(location: string): Promise<StoreBackend>;
}
