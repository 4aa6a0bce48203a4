import { createFinding, type Finding } from "@proj/findings";
import {
  encodePem,
  inspectCertificate,
  isPemError,
  keyMatchesCertificate,
  parsePem,
  readPkcs12,
  readPrivateKey,
} from "@proj/pem";
import { toPkcs12, type Pkcs12Options } from "@proj/pki";
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import type { BackendFactory, ItemKind, StoreBackend, StoredVersion } from "./backend.js";
import { CertStoreError } from "./errors.js";
import { seal, storeKey, unseal } from "./sealing.js";

/** What a name may be: it is also used in `store:NAME` references and as a file name on export. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** One certificate of an item, described. */
export interface StoredCertificate {
  readonly subject: string;
  readonly issuer: string;
  /** Upper-case hex. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 of the DER certificate, colon-separated hex. */
  readonly fingerprint256: string;
  readonly pem: string;
}

/** An item (one version of it): its certificates, and whether it holds a key. The key is read with `getKey`. */
export interface StoreItem {
  readonly name: string;
  readonly version: number;
  readonly kind: ItemKind;
  readonly createdAt: Date;
  /** Leaf first for a certificate-and-key item. */
  readonly certificates: readonly StoredCertificate[];
  readonly hasKey: boolean;
}

/** What `add` imports: certificate files (PEM or DER, any number), a key (PEM or DER, may be encrypted), or a PKCS#12 bundle. */
export interface ItemInput {
  readonly certificates?: readonly (string | Uint8Array)[];
  readonly key?: string | Uint8Array | undefined;
  /** The passphrase of an encrypted key file (not the store's). */
  readonly keyPassphrase?: string | undefined;
  readonly pkcs12?: Uint8Array | undefined;
  readonly pkcs12Passphrase?: string | undefined;
}

/** Options of {@link openCertStore}. */
export interface CertStoreOptions {
  /** The backends that may open the location (`sqliteBackend`, `postgresBackend`). */
  readonly backends: readonly BackendFactory[];
  /**
   * The store passphrase: private keys are encrypted under a key derived from it. Needed only to add, read or
   * export a key. @default none
   */
  readonly passphrase?: string | undefined;
}

function describe(pem: string): StoredCertificate {
  const info = inspectCertificate(pem);
  return {
    subject: info.subject.oneLine,
    issuer: info.issuer.oneLine,
    serial: info.serialNumber,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    fingerprint256: new X509Certificate(pem).fingerprint256,
    pem,
  };
}

function toItem(row: StoredVersion): StoreItem {
  return {
    name: row.name,
    version: row.version,
    kind: row.kind,
    createdAt: row.createdAt,
    certificates: row.certificates.map(describe),
    hasKey: row.key !== undefined,
  };
}

function invalid(message: string, findings: readonly Finding[], cause?: unknown): CertStoreError {
  return new CertStoreError("STORE_ITEM_INVALID", message, {
    findings,
    remedy: findings.find((f) => f.remedy)?.remedy ?? "Give the certificate as PEM or DER, and its key.",
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The certificates of one input, DER converted; findings say what else was in it or what is wrong. */
function readCertificates(input: string | Uint8Array, index: number, findings: Finding[]): string[] {
  const parsed = parsePem(input, { source: `certificate file ${index + 1}` });
  if ((parsed.format === "der" || parsed.format === "base64") && parsed.derKind === "certificate") {
    const der = typeof input === "string" ? Buffer.from(input.replace(/\s+/g, ""), "base64") : input;
    findings.push(
      createFinding("NOT_PEM_DER", "info", `Certificate file ${index + 1} was DER: stored as PEM.`),
    );
    return [encodePem(der)];
  }
  findings.push(...parsed.findings);
  return parsed.blocks.filter((b) => b.type === "certificate").map((b) => b.pem);
}

/** Runs a read of `@proj/pem`; its coded failure becomes `STORE_ITEM_INVALID` with the finding that names it. */
function reading<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!isPemError(error)) throw error;
    const finding = createFinding(
      error.code,
      "error",
      error.message,
      error.remedy ? { remedy: error.remedy } : {},
    );
    throw invalid(`${what} cannot be read: ${error.message}`, [finding], error);
  }
}

/**
 * A certificate store: named items of two kinds, "certificate" (a trust store's CAs) and "certificate-and-key"
 * (a client's chain and key), each with its versions kept. Certificates are public and readable without the
 * passphrase; private keys are encrypted at rest and need it. Open one with {@link openCertStore}.
 */
export class CertStore implements AsyncDisposable {
  readonly #backend: StoreBackend;
  readonly #passphrase: string | undefined;
  #key: Promise<Buffer> | undefined;

  /** @internal Use {@link openCertStore}. */
  constructor(backend: StoreBackend, passphrase: string | undefined) {
    this.#backend = backend;
    this.#passphrase = passphrase;
  }

  /** Where the store is (a file path, or a PostgreSQL URL without its password). */
  get location(): string {
    return this.#backend.location;
  }

  #storeKey(): Promise<Buffer> {
    if (this.#passphrase === undefined || this.#passphrase === "") {
      return Promise.reject(
        new CertStoreError(
          "STORE_PASSPHRASE_MISSING",
          `the store at ${this.location} needs its passphrase for keys`,
          {
            remedy:
              "Set MQTT_TLS_STORE_PASSPHRASE for this process (never on the command line: it would show in ps).",
          },
        ),
      );
    }
    this.#key ??= storeKey(this.#backend, this.#passphrase);
    // A wrong passphrase stays wrong: keep the rejection, but do not let it go unhandled.
    this.#key.catch(() => undefined);
    return this.#key;
  }

  /** Checks the passphrase (writing the store's key parameters the first time); `STORE_PASSPHRASE_WRONG` if it does not open the store. */
  async unlock(): Promise<void> {
    await this.#storeKey();
  }

  /**
   * Imports a new version of `name`: certificates from PEM or DER files, and a key (or a PKCS#12 bundle) for a
   * certificate-and-key item. The key must belong to one of the certificates, which then leads the chain. Nothing is
   * written when something is wrong (and never with a wrong store passphrase).
   *
   * @example
   * ```ts
   * const { item } = await store.add("line1-plc", {
   *   certificates: [await readFile("line1-plc-chain.crt")],
   *   key: await readFile("line1-plc.key"),
   * });
   * console.log(item.version, item.certificates[0]?.notAfter);
   * ```
   * @throws {CertStoreError} `STORE_ITEM_INVALID` (with findings), `STORE_PASSPHRASE_MISSING`, `STORE_PASSPHRASE_WRONG`.
   */
  async add(name: string, input: ItemInput): Promise<{ item: StoreItem; findings: Finding[] }> {
    if (!NAME.test(name)) {
      throw new CertStoreError("STORE_ITEM_INVALID", `"${name.slice(0, 40)}" is not a valid item name`, {
        remedy: "Use letters, digits, dot, dash and underscore (up to 128), starting with a letter or digit.",
      });
    }
    const findings: Finding[] = [];
    let certificates = (input.certificates ?? []).flatMap((c, i) => readCertificates(c, i, findings));
    let key: KeyObject | undefined;
    if (input.pkcs12) {
      const p12 = reading("the PKCS#12 bundle", () =>
        readPkcs12(input.pkcs12!, input.pkcs12Passphrase ?? ""),
      );
      certificates = [...p12.certificates, ...certificates];
      if (p12.key) key = createPrivateKey(p12.key);
    }
    if (input.key !== undefined) {
      const keyInput = input.key;
      key = reading("the key", () => readPrivateKey(keyInput, input.keyPassphrase).keyObject);
    }
    const errors = findings.filter((f) => f.severity === "error");
    if (errors.length > 0)
      throw invalid(`the certificate files cannot be used: ${errors[0]!.message}`, findings);
    certificates = [...new Set(certificates)];
    if (certificates.length === 0) {
      throw invalid("no certificate was given", [
        createFinding("TRUST_STORE_EMPTY", "error", "The item would hold no certificate.", {
          remedy: "Give at least one certificate file (--cert).",
        }),
      ]);
    }
    if (key) {
      const leaf = certificates.find((c) => keyMatchesCertificate(key, c));
      if (!leaf) {
        throw invalid("the key belongs to none of the certificates", [
          createFinding(
            "KEY_CERT_MISMATCH",
            "error",
            "The private key is not the key of any certificate given.",
            {
              remedy: "Give the certificate issued for this key (or the key of this certificate).",
            },
          ),
        ]);
      }
      certificates = [leaf, ...certificates.filter((c) => c !== leaf)];
    }
    const sealed = key
      ? seal(await this.#storeKey(), key.export({ type: "pkcs8", format: "der" }), `item:${name}`)
      : undefined;
    const row = await this.#backend.insert({
      name,
      kind: key ? "certificate-and-key" : "certificate",
      certificates,
      key: sealed,
    });
    return { item: toItem(row), findings };
  }

  async #row(name: string, version?: number): Promise<StoredVersion> {
    const row = await this.#backend.get(name, version);
    if (!row) {
      throw new CertStoreError(
        "STORE_ITEM_NOT_FOUND",
        `the store at ${this.location} has no item ${name}${version === undefined ? "" : ` version ${version}`}`,
        { remedy: "List the items with `mqtt-tls store list`, or add it with `mqtt-tls store add`." },
      );
    }
    return row;
  }

  /**
   * The newest version of `name` (or the one asked for), without its key.
   *
   * @example
   * ```ts
   * const item = await store.get("broker-ca");
   * for (const cert of item.certificates) console.log(cert.subject, cert.notAfter);
   * ```
   * @throws {CertStoreError} `STORE_ITEM_NOT_FOUND`.
   */
  async get(name: string, options: { version?: number } = {}): Promise<StoreItem> {
    return toItem(await this.#row(name, options.version));
  }

  /**
   * The private key of a certificate-and-key item, as unencrypted PKCS#8 PEM: keep it in memory only.
   *
   * @example
   * ```ts
   * const keyPem = await store.getKey("line1-plc");
   * ```
   * @throws {CertStoreError} `STORE_ITEM_NOT_FOUND`, `STORE_ITEM_INVALID` (no key), `STORE_PASSPHRASE_MISSING`,
   *   `STORE_PASSPHRASE_WRONG`.
   */
  async getKey(name: string, options: { version?: number } = {}): Promise<string> {
    const row = await this.#row(name, options.version);
    if (!row.key) {
      throw new CertStoreError(
        "STORE_ITEM_INVALID",
        `the store item ${name} holds certificates only, no key`,
        {
          remedy: `Add the key: mqtt-tls store add ${name} --cert CHAIN --key KEY.`,
        },
      );
    }
    const der = unseal(await this.#storeKey(), row.key, `item:${name}`);
    if (!der) {
      throw new CertStoreError(
        "STORE_PASSPHRASE_WRONG",
        `the key of ${name} does not open with this passphrase`,
        {
          remedy: "The item was written under another passphrase, or altered.",
        },
      );
    }
    return createPrivateKey({ key: der, format: "der", type: "pkcs8" }).export({
      type: "pkcs8",
      format: "pem",
    }) as string;
  }

  /**
   * The newest version of every item, by name.
   *
   * @example
   * ```ts
   * for (const item of await store.list()) console.log(item.name, item.kind, item.version);
   * ```
   */
  async list(): Promise<StoreItem[]> {
    return (await this.#backend.list()).map(toItem);
  }

  /**
   * Every version of `name`, oldest first: a rotated item keeps its previous versions for rollback.
   *
   * @example
   * ```ts
   * const versions = await store.history("line1-plc");
   * ```
   * @throws {CertStoreError} `STORE_ITEM_NOT_FOUND`.
   */
  async history(name: string): Promise<StoreItem[]> {
    const rows = await this.#backend.history(name);
    if (rows.length === 0) await this.#row(name);
    return rows.map(toItem);
  }

  /**
   * An item as PEM (its chain, and its key when it has one) or as a PKCS#12 bundle protected by `passphrase`.
   *
   * @example
   * ```ts
   * const { chain, key } = await store.exportPem("line1-plc");
   * const p12 = await store.exportPkcs12("line1-plc", { passphrase: process.env.P12_PASSPHRASE! });
   * ```
   * @throws {CertStoreError} as {@link CertStore.get} and {@link CertStore.getKey}.
   */
  async exportPem(
    name: string,
    options: { version?: number } = {},
  ): Promise<{ chain: string; key: string | undefined }> {
    const item = await this.get(name, options);
    const chain = item.certificates.map((c) => c.pem).join("");
    return { chain, key: item.hasKey ? await this.getKey(name, options) : undefined };
  }

  /** {@link CertStore.exportPem} as a PKCS#12 bundle (a certificate-and-key item only). */
  async exportPkcs12(name: string, options: Pkcs12Options & { version?: number }): Promise<Buffer> {
    const item = await this.get(name, options);
    const keyPem = await this.getKey(name, options);
    return toPkcs12(
      {
        key: createPrivateKey(keyPem),
        certs: item.certificates.map((c) => new X509Certificate(c.pem).raw),
        friendlyName: name,
      },
      options,
    );
  }

  /**
   * Removes an item with every version (or keeps the newest `keepNewest`); returns how many versions went.
   *
   * @example
   * ```ts
   * await store.remove("old-plc");
   * await store.remove("line1-plc", { keepNewest: 2 }); // prune history, keep a rollback
   * ```
   * @throws {CertStoreError} `STORE_ITEM_NOT_FOUND`.
   */
  async remove(name: string, options: { keepNewest?: number } = {}): Promise<number> {
    await this.#row(name);
    return this.#backend.remove(name, options);
  }

  /** Closes the backend (its file or connection pool). */
  async close(): Promise<void> {
    await this.#backend.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Opens the store at `location` with the first backend that takes it: a file path (SQLite) or a `postgres://` URL
 * (PostgreSQL). The passphrase is checked at once when given (`STORE_PASSPHRASE_WRONG`, nothing written).
 *
 * @example
 * ```ts
 * import { sqliteBackend } from "@proj/cert-store-sqlite";
 * await using store = await openCertStore("plant.db", {
 *   backends: [sqliteBackend],
 *   passphrase: process.env.MQTT_TLS_STORE_PASSPHRASE,
 * });
 * ```
 * @throws {CertStoreError} `STORE_UNAVAILABLE` (no backend takes it, or it cannot be opened), `STORE_PASSPHRASE_WRONG`.
 */
export async function openCertStore(location: string, options: CertStoreOptions): Promise<CertStore> {
  const factory = options.backends.find((b) => b.accepts(location));
  if (!factory) {
    throw new CertStoreError(
      "STORE_UNAVAILABLE",
      `no store backend opens ${location.replace(/\/\/[^@/]*@/, "//")}`,
      {
        remedy: `Give a file path (SQLite) or a postgres:// URL; backends here: ${options.backends.map((b) => b.name).join(", ") || "none"}.`,
      },
    );
  }
  let backend: StoreBackend;
  try {
    backend = await factory.open(location);
  } catch (error) {
    if (error instanceof CertStoreError) throw error;
    throw new CertStoreError(
      "STORE_UNAVAILABLE",
      `the ${factory.name} store cannot be opened: ${(error as Error).message}`,
      {
        remedy: "Check the location, that it is reachable, and the permissions.",
        cause: error,
      },
    );
  }
  const store = new CertStore(backend, options.passphrase);
  if (options.passphrase) {
    try {
      await store.unlock();
    } catch (error) {
      await backend.close();
      throw error;
    }
  }
  return store;
}

/**
 * The store as `@proj/security-config`'s `StoreResolver`: `store:NAME` in a configuration reads the item's
 * certificates (trust store, key store chain) and key.
 *
 * @example
 * ```ts
 * const loaded = await loadConfig("line1-plc.json", { store: storeResolver(store) });
 * ```
 */
export function storeResolver(store: CertStore): {
  resolve(name: string): Promise<{ certificates: readonly string[]; privateKey?: () => Promise<string> }>;
} {
  return {
    async resolve(name) {
      const item = await store.get(name);
      const certificates = item.certificates.map((c) => c.pem);
      // The key is decrypted only when a key store asks for it (a trust store needs no passphrase).
      return item.hasKey
        ? { certificates, privateKey: () => store.getKey(name, { version: item.version }) }
        : { certificates };
    },
  };
}
