import { versionFromRow, type BackendFactory, type StoreBackend, type VersionRow } from "@proj/cert-store";
import pg from "pg";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS mqtt_tls_store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mqtt_tls_store_items (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('certificate', 'certificate-and-key')),
  created_at TIMESTAMPTZ NOT NULL,
  certificates JSONB NOT NULL,
  key_iv BYTEA, key_tag BYTEA, key_data BYTEA,
  PRIMARY KEY (name, version)
);
`;

type Row = VersionRow;

/** The URL without its password, for messages. */
function display(location: string): string {
  try {
    const url = new URL(location);
    url.password = "";
    return url.toString();
  } catch {
    return "a postgres:// URL";
  }
}

/**
 * Opens a store in a PostgreSQL database (its two tables are created when missing), for a store a team shares.
 * Each write is one transaction; a new version number is taken under a per-name lock, so two writers never share one.
 *
 * @example
 * ```ts
 * const backend = await openPostgresBackend("postgres://mqtt_tls@db.plant.local/certificates");
 * ```
 */
export async function openPostgresBackend(location: string): Promise<StoreBackend> {
  const pool = new pg.Pool({ connectionString: location, max: 4, connectionTimeoutMillis: 10_000 });
  // An idle client that loses its server must not crash the process.
  pool.on("error", () => undefined);
  try {
    await pool.query(SCHEMA);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const rows = async (text: string, values: unknown[] = []) => (await pool.query<Row>(text, values)).rows;

  return {
    location: display(location),
    getMeta: async (key) =>
      (await pool.query<{ value: string }>("SELECT value FROM mqtt_tls_store_meta WHERE key = $1", [key]))
        .rows[0]?.value,
    initMeta: async (key, value) => {
      await pool.query(
        "INSERT INTO mqtt_tls_store_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        [key, value],
      );
      return (
        await pool.query<{ value: string }>("SELECT value FROM mqtt_tls_store_meta WHERE key = $1", [key])
      ).rows[0]!.value;
    },
    insert: async (version) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [version.name]);
        const { rows: inserted } = await client.query<Row>(
          `INSERT INTO mqtt_tls_store_items (name, version, kind, created_at, certificates, key_iv, key_tag, key_data)
           SELECT $1, COALESCE(MAX(version), 0) + 1, $2, now(), $3, $4, $5, $6 FROM mqtt_tls_store_items WHERE name = $1
           RETURNING *`,
          [
            version.name,
            version.kind,
            JSON.stringify(version.certificates),
            version.key?.iv ?? null,
            version.key?.tag ?? null,
            version.key?.ciphertext ?? null,
          ],
        );
        await client.query("COMMIT");
        return versionFromRow(inserted[0]!);
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    get: async (name, version) => {
      const found =
        version === undefined
          ? await rows("SELECT * FROM mqtt_tls_store_items WHERE name = $1 ORDER BY version DESC LIMIT 1", [
              name,
            ])
          : await rows("SELECT * FROM mqtt_tls_store_items WHERE name = $1 AND version = $2", [
              name,
              version,
            ]);
      return found[0] ? versionFromRow(found[0]) : undefined;
    },
    history: async (name) =>
      (await rows("SELECT * FROM mqtt_tls_store_items WHERE name = $1 ORDER BY version", [name])).map(
        versionFromRow,
      ),
    list: async () =>
      (await rows("SELECT DISTINCT ON (name) * FROM mqtt_tls_store_items ORDER BY name, version DESC")).map(
        versionFromRow,
      ),
    remove: async (name, options = {}) => {
      const result =
        options.keepNewest === undefined
          ? await pool.query("DELETE FROM mqtt_tls_store_items WHERE name = $1", [name])
          : await pool.query(
              "DELETE FROM mqtt_tls_store_items WHERE name = $1 AND version NOT IN (SELECT version FROM mqtt_tls_store_items WHERE name = $1 ORDER BY version DESC LIMIT $2)",
              [name, options.keepNewest],
            );
      return result.rowCount ?? 0;
    },
    close: async () => {
      if (!pool.ended) await pool.end();
    },
  };
}

/**
 * The PostgreSQL backend for `openCertStore`: takes `postgres://` and `postgresql://` URLs.
 *
 * @example
 * ```ts
 * await using store = await openCertStore(process.env.MQTT_TLS_STORE!, { backends: [sqliteBackend, postgresBackend] });
 * ```
 */
export const postgresBackend: BackendFactory = {
  name: "PostgreSQL",
  accepts: (location) => /^postgres(ql)?:\/\//i.test(location),
  open: openPostgresBackend,
};
