import { openCertStore, storeResolver } from "@proj/cert-store";
import { describeStoreContract } from "@proj/cert-store/testing";
import { createTestPki } from "@proj/pki";
import { loadConfig } from "@proj/security-config";
import { postgresSkipReason, startPostgres, type PostgresServer } from "@proj/test-broker";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresBackend } from "../src/index.js";

const skip = postgresSkipReason();
let server: PostgresServer | undefined;
let count = 0;

/** A new database on the test server for each store: every test starts empty. */
async function freshDatabase(): Promise<string> {
  server ??= await startPostgres();
  const name = `store_${++count}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return server.urlFor(name);
}

describeStoreContract("PostgreSQL", {
  skip,
  fresh: async () => ({ location: await freshDatabase(), backends: [postgresBackend] }),
});

// One server for the file (it takes a second or two to start), stopped by its PID at the end.
afterAll(async () => {
  await server?.close();
});

describe.skipIf(skip)("a PostgreSQL store shared by a team", () => {
  let pki: Awaited<ReturnType<typeof createTestPki>>;
  beforeAll(async () => {
    pki = await createTestPki({ name: "postgres-store" });
  });
  afterAll(async () => {
    await pki.cleanup();
  });

  it("gives two writers of one name distinct versions, and keeps no key or passphrase in clear", async () => {
    const url = await freshDatabase();
    const passphrase = "pg-pass-Lk9-never-print";
    await using a = await openCertStore(url, { backends: [postgresBackend], passphrase });
    await using b = await openCertStore(url, { backends: [postgresBackend], passphrase });
    const added = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).add("line1-plc", { certificates: [pki.client.chain], key: pki.client.key }),
      ),
    );
    expect(added.map((r) => r.item.version).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(a.location).not.toContain(passphrase);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ dump: string }>(
        "SELECT string_agg(t::text, ' ') AS dump FROM (SELECT * FROM mqtt_tls_store_items UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, decode(value, 'escape'), NULL, NULL FROM mqtt_tls_store_meta) t",
      );
      const dump = rows[0]!.dump;
      const keyBody = pki.client.key.split("\n")[1]!;
      const keyHex = pki.client.keyObject
        .export({ type: "pkcs8", format: "der" })
        .subarray(0, 48)
        .toString("hex");
      expect(dump).not.toContain(keyBody);
      expect(dump).not.toContain(keyHex);
      expect(dump).not.toContain(passphrase);
    } finally {
      await client.end();
    }
    // A configuration resolves store:NAME through the shared store as through a file.
    const loaded = await loadConfig(
      {
        broker: { url: "mqtts://127.0.0.1:8883" },
        security: { trustStore: [pki.caPem], sendClientCertificate: true, keyStore: "store:line1-plc" },
      },
      { store: storeResolver(a) },
    );
    expect(loaded.findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(loaded.resolved?.keyStore?.chain[0]).toBe(pki.client.cert);
  });

  it("says STORE_UNAVAILABLE for a server that is not there, with no password in the message", async () => {
    const error = await openCertStore("postgres://plant:secret-pw@127.0.0.1:1/certificates", {
      backends: [postgresBackend],
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "CertStoreError", code: "STORE_UNAVAILABLE" });
    expect((error as Error).message).not.toContain("secret-pw");
  });
});
