import type { StoreItem } from "@proj/cert-store";
import { renderFindings } from "@proj/findings";
import { loadConfig } from "@proj/security-config";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CliError } from "../errors.js";
import { colorsFor, type CliIo, type Colors } from "../io.js";
import { deviceById } from "../devices.js";
import { itemJson, openCliStore } from "../store.js";

interface StoreCommon {
  store?: string;
  json?: boolean;
  color?: boolean;
}

export interface StoreAddOptions extends StoreCommon {
  cert?: string[];
  key?: string;
  p12?: string;
  /** The environment variable holding the key file's (or PKCS#12 bundle's) passphrase. */
  passphraseEnv?: string;
}

export interface StoreExportOptions extends StoreCommon {
  out: string;
  format?: "pem" | "p12" | "device";
  /** With `--format device`: the adapter whose files to write. */
  device?: string;
  /** With `--format device`: a certificate item for the device's trust store. */
  trust?: string;
  /** The environment variable holding the passphrase of the PKCS#12 written. */
  passphraseEnv?: string;
}

const DAY = 86_400_000;

function describeItem(item: StoreItem, c: Colors): string {
  const lines = [
    `${c.bold(item.name)}  ${item.kind}, version ${item.version}${item.hasKey ? ", key sealed" : ""}, added ${item.createdAt.toISOString()}`,
  ];
  for (const cert of item.certificates) {
    const days = Math.floor((cert.notAfter.getTime() - Date.now()) / DAY);
    const left =
      days < 0
        ? c.red(`expired ${-days} day(s) ago`)
        : days <= 30
          ? c.yellow(`${days} day(s) left`)
          : `${days} days left`;
    lines.push(
      `    ${cert.subject}\n      issuer ${cert.issuer}, serial ${cert.serial}, until ${cert.notAfter.toISOString().slice(0, 10)} (${left})`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function secretFromEnv(io: CliIo, variable: string | undefined, what: string): string | undefined {
  if (variable === undefined) return undefined;
  const value = io.env[variable];
  if (value === undefined || value === "") {
    throw new CliError("USAGE", `--passphrase-env ${variable}: the variable is not set`, {
      remedy: `Set ${variable} to the ${what} for this process.`,
    });
  }
  return value;
}

/** `mqtt-tls store add NAME --cert FILE... [--key FILE | --p12 FILE] [--passphrase-env VAR]`. */
export async function storeAdd(name: string, options: StoreAddOptions, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  if (!options.cert?.length && !options.p12) {
    throw new CliError("USAGE", "store add needs --cert FILE (repeatable) or --p12 FILE", {
      remedy: "mqtt-tls store add line1-plc --cert line1-plc-chain.crt --key line1-plc.key",
    });
  }
  const read = async (file: string) => {
    try {
      return await readFile(resolve(io.cwd, file));
    } catch (error) {
      throw new CliError(
        "USAGE",
        `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
        {
          remedy: "Check the path; it is read from the current folder.",
          cause: error,
        },
      );
    }
  };
  const passphrase = secretFromEnv(io, options.passphraseEnv, "passphrase of the key file or PKCS#12 bundle");
  const certificates = await Promise.all((options.cert ?? []).map(read));
  const key = options.key === undefined ? undefined : await read(options.key);
  const pkcs12 = options.p12 === undefined ? undefined : await read(options.p12);
  await using store = await openCliStore(io, options.store);
  const { item, findings } = await store.add(name, {
    certificates,
    key,
    keyPassphrase: passphrase,
    pkcs12,
    pkcs12Passphrase: passphrase,
  });
  if (options.json) {
    io.stdout(`${JSON.stringify({ ok: true, findings, item: itemJson(item) }, null, 2)}\n`);
    return 0;
  }
  io.stdout(`${c.green("✔")} ${store.location}: `);
  io.stdout(describeItem(item, c));
  if (findings.length > 0) io.stderr(renderFindings(findings, c));
  return 0;
}

/** `mqtt-tls store list`: the newest version of every item. */
export async function storeList(options: StoreCommon, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  await using store = await openCliStore(io, options.store);
  const items = await store.list();
  if (options.json) {
    io.stdout(`${JSON.stringify({ ok: true, findings: [], items: items.map(itemJson) }, null, 2)}\n`);
    return 0;
  }
  if (items.length === 0)
    io.stdout(`${store.location} holds no item yet: mqtt-tls store add NAME --cert FILE\n`);
  for (const item of items) io.stdout(describeItem(item, c));
  return 0;
}

/** `mqtt-tls store show NAME`: every version of an item, newest last. */
export async function storeShow(name: string, options: StoreCommon, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  await using store = await openCliStore(io, options.store);
  const versions = await store.history(name);
  if (options.json) {
    const item = itemJson(versions.at(-1)!);
    io.stdout(
      `${JSON.stringify({ ok: true, findings: [], item: { ...item, versions: versions.map((v) => v.version) } }, null, 2)}\n`,
    );
    return 0;
  }
  for (const version of versions) io.stdout(describeItem(version, c));
  return 0;
}

/** `mqtt-tls store export NAME --out DIR [--format pem|p12]`: the chain and key files (key 0600), or a PKCS#12. */
export async function storeExport(name: string, options: StoreExportOptions, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const out = resolve(io.cwd, options.out);
  await using store = await openCliStore(io, options.store);
  await mkdir(out, { recursive: true });
  const files: { path: string; secret: boolean }[] = [];
  const write = async (file: string, contents: string | Buffer, secret: boolean) => {
    const path = join(out, file);
    await writeFile(path, contents, { mode: secret ? 0o600 : 0o644 });
    await chmod(path, secret ? 0o600 : 0o644);
    files.push({ path, secret });
  };
  if (options.format === "device") {
    if (options.device === undefined) {
      throw new CliError("USAGE", "--format device needs --device ID", {
        remedy: "See the devices: mqtt-tls devices",
      });
    }
    const adapter = deviceById(options.device);
    if (!adapter.toDeviceFiles) {
      throw new CliError("USAGE", `${adapter.name} has no device files to write`, {
        remedy: "Export PEM (--format pem) and load it with the device's own tool.",
      });
    }
    const { chain, key } = await store.exportPem(name);
    const trust =
      options.trust === undefined
        ? undefined
        : (await store.get(options.trust)).certificates.map((c) => c.pem).join("");
    // The device files need a configuration: this item as its key store, the trust item (if any) as its trust store.
    const { resolved } = await loadConfig({
      broker: { url: "mqtts://device.invalid:8883" },
      security: {
        ...(trust === undefined ? { checkServerCertificate: false } : { trustStore: [trust] }),
        sendClientCertificate: key !== undefined,
        ...(key === undefined ? {} : { keyStore: { certificate: chain, privateKey: key } }),
      },
    });
    for (const file of await adapter.toDeviceFiles(resolved!, out))
      files.push({ path: file.path, secret: file.secret });
  } else if (options.format === "p12") {
    const passphrase = secretFromEnv(
      io,
      options.passphraseEnv ?? "P12_PASSPHRASE",
      "passphrase of the PKCS#12 bundle",
    );
    await write(`${name}.p12`, await store.exportPkcs12(name, { passphrase: passphrase! }), true);
  } else {
    const { chain, key } = await store.exportPem(name);
    await write(`${name}-chain.crt`, chain, false);
    if (key !== undefined) await write(`${name}.key`, key, true);
  }
  if (options.json) {
    io.stdout(`${JSON.stringify({ ok: true, findings: [], written: files }, null, 2)}\n`);
    return 0;
  }
  for (const file of files) io.stdout(`${c.green("✔")} ${file.path}${file.secret ? "  (mode 0600)" : ""}\n`);
  return 0;
}

/** `mqtt-tls store rm NAME`: removes an item with all its versions. */
export async function storeRemove(name: string, options: StoreCommon, io: CliIo): Promise<number> {
  await using store = await openCliStore(io, options.store);
  const removed = await store.remove(name);
  if (options.json) io.stdout(`${JSON.stringify({ ok: true, findings: [], removed }, null, 2)}\n`);
  else io.stdout(`removed ${name} (${removed} version${removed === 1 ? "" : "s"}) from ${store.location}\n`);
  return 0;
}
