import { openCertStore, storeResolver } from "@proj/cert-store";
import { describeStoreContract } from "@proj/cert-store/testing";
import { startDevBroker } from "@proj/dev-broker";
import { probe } from "@proj/mqtt-tls";
import { createTestPki } from "@proj/pki";
import { loadConfig } from "@proj/security-config";
import { spawn } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { sqliteBackend } from "../src/index.js";

const dirs: string[] = [];
async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cert-store-sqlite-"));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

let count = 0;
describeStoreContract("SQLite", {
  fresh: async () => ({ location: join(await folder(), `store-${++count}.db`), backends: [sqliteBackend] }),
});

const PASSPHRASE = "sqlite-pass-Vw3-never-print";

describe("the SQLite store file", () => {
  it("is one file (with its WAL) readable by its owner only, holding no key byte and no passphrase in clear", async () => {
    await using pki = await createTestPki({ name: "sqlite-secrets", keyType: "rsa2048" });
    const dir = await folder();
    const file = join(dir, "plant.db");
    {
      await using store = await openCertStore(file, { backends: [sqliteBackend], passphrase: PASSPHRASE });
      await store.add("line1-plc", { certificates: [pki.client.chain], key: pki.client.key });
      await store.add("line1-plc", { certificates: [pki.client.chain], key: pki.client.key });
    }
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const keyDer = pki.client.keyObject.export({ type: "pkcs8", format: "der" });
    const keyBody = pki.client.key.split("\n")[1]!; // a line of the key's base64
    for (const name of await readdir(dir)) {
      const bytes = await readFile(join(dir, name));
      expect(bytes.includes(keyDer.subarray(0, 64)), name).toBe(false);
      expect(bytes.includes(Buffer.from(keyBody)), name).toBe(false);
      expect(bytes.includes(Buffer.from(PASSPHRASE)), name).toBe(false);
    }
  });

  it("loses no acknowledged item when the process is killed (SIGKILL) in the middle of adding", async () => {
    await using pki = await createTestPki({ name: "sqlite-crash" });
    const file = join(await folder(), "crash.db");
    const script = `
      const { openCertStore } = await import(${JSON.stringify(fileURLToPath(new URL("../../cert-store/src/index.ts", import.meta.url)))});
      const { sqliteBackend } = await import(${JSON.stringify(fileURLToPath(new URL("../src/index.ts", import.meta.url)))});
      const store = await openCertStore(process.env.STORE_FILE, { backends: [sqliteBackend], passphrase: "crash-pass" });
      for (let i = 0; i < 2000; i++) {
        await store.add("plc-" + i, { certificates: [process.env.CHAIN], key: process.env.KEY });
        process.stdout.write(i + "\\n");
      }`;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=@proj/source", "--input-type=module", "-e", script],
      {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        env: { ...process.env, STORE_FILE: file, CHAIN: pki.client.chain, KEY: pki.client.key },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const acknowledged: number[] = [];
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding("utf8").on("data", (text: string) => {
        for (const line of text.split("\n")) if (line) acknowledged.push(Number(line));
        if (acknowledged.length >= 40 && child.exitCode === null) child.kill("SIGKILL");
      });
      child.once("exit", () => resolve());
    });
    expect(child.signalCode).toBe("SIGKILL");
    await using store = await openCertStore(file, { backends: [sqliteBackend], passphrase: "crash-pass" });
    const names = new Set((await store.list()).map((i) => i.name));
    for (const i of acknowledged) expect(names.has(`plc-${i}`), `plc-${i}`).toBe(true);
    const last = acknowledged.at(-1)!;
    expect(createPrivateKey(await store.getKey(`plc-${last}`)).export({ type: "pkcs8", format: "pem" })).toBe(
      pki.client.key,
    );
  });
});

describe("store:NAME in a configuration", () => {
  it("reads the trust store and the key store from the store, and connects with mutual TLS", async () => {
    await using broker = await startDevBroker({ requireClientCert: true });
    const pki = broker.testPki!;
    const file = join(await folder(), "fleet.db");
    await using store = await openCertStore(file, { backends: [sqliteBackend], passphrase: PASSPHRASE });
    await store.add("broker-ca", { certificates: [pki.caPem] });
    await store.add("line1-plc", { certificates: [pki.client.chain], key: pki.client.key });
    const config = {
      broker: { url: broker.url, clientId: "line1-plc" },
      security: { trustStore: ["store:broker-ca"], sendClientCertificate: true, keyStore: "store:line1-plc" },
    };
    const loaded = await loadConfig(config, { store: storeResolver(store) });
    expect(loaded.findings.filter((f) => f.severity === "error")).toEqual([]);
    const result = await probe(loaded);
    expect(result.connected).toBe(true);
    expect((await broker.waitForClient("line1-plc")).certificate?.fingerprint256).toBe(
      pki.client.fingerprint256,
    );

    // Without the passphrase the trust store still reads; the key store says what is missing.
    await using locked = await openCertStore(file, { backends: [sqliteBackend] });
    const withoutKey = await loadConfig(config, { store: storeResolver(locked) });
    expect(withoutKey.findings.find((f) => f.severity === "error")).toMatchObject({
      code: "STORE_PASSPHRASE_MISSING",
      path: "security.keyStore.privateKey",
    });
    const missing = await loadConfig(
      { ...config, security: { ...config.security, trustStore: ["store:nothing-here"] } },
      { store: storeResolver(store) },
    );
    expect(missing.findings[0]).toMatchObject({
      code: "STORE_ITEM_NOT_FOUND",
      path: "security.trustStore[0]",
    });
    const noStore = await loadConfig(config);
    expect(noStore.findings[0]).toMatchObject({ code: "STORE_UNAVAILABLE" });
  });
});
