import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Finding } from "@proj/findings";
import type { ResolvedConfig } from "@proj/security-config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialWatcher, credentialFiles, reloadOnChange } from "./credential-watcher.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mqtt-tls-watch-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("CredentialWatcher", () => {
  it("calls back once for a burst of changes, a file replaced by a rename included, and nothing after close", async () => {
    const cert = join(dir, "plc.crt");
    const key = join(dir, "plc.key");
    await writeFile(cert, "old certificate");
    await writeFile(key, "old key");
    let calls = 0;
    const watcher = new CredentialWatcher([cert, key, cert], () => calls++, {
      intervalMs: 20,
      settleMs: 100,
    });
    await writeFile(join(dir, "plc.crt.new"), "new certificate, longer");
    await rename(join(dir, "plc.crt.new"), cert);
    await writeFile(key, "new key, longer");
    await expect.poll(() => calls, { timeout: 3000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls).toBe(1);
    watcher.close();
    await writeFile(key, "another key after close");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls).toBe(1);
  });
});

describe("credentialFiles", () => {
  it("lists the trust store, key store and CRL files, relative ones from the configuration's folder, not inline PEM", () => {
    const resolved = (security: Record<string, unknown>) =>
      ({ baseDir: "/etc/plc", config: { security: { crl: [], ...security } } }) as unknown as ResolvedConfig;
    expect(
      credentialFiles(
        resolved({
          trustStore: ["ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"],
          keyStore: { certificate: "/opt/certs/plc.crt", privateKey: "keys/plc.key" },
          crl: ["ca.crl"],
        }),
      ),
    ).toEqual(["/etc/plc/ca.pem", "/opt/certs/plc.crt", "/etc/plc/keys/plc.key", "/etc/plc/ca.crl"]);
    expect(credentialFiles(resolved({ trustStore: "ca.pem", keyStore: { pkcs12: "plc.p12" } }))).toEqual([
      "/etc/plc/ca.pem",
      "/etc/plc/plc.p12",
    ]);
    expect(credentialFiles(resolved({}))).toEqual([]);
  });
});

describe("reloadOnChange", () => {
  const settle = { intervalMs: 20, settleMs: 50 };
  const error = { code: "KEY_CERT_MISMATCH", severity: "error", message: "The key does not fit." } as Finding;

  it("reloads when a credential file changes and reports how it went, the errors as diagnoses", async () => {
    const key = join(dir, "reload.key");
    await writeFile(key, "key one");
    const resolved = {
      baseDir: dir,
      config: { security: { crl: [], keyStore: { privateKey: "reload.key" } } },
    };
    const results = [
      { ok: true, findings: [] },
      { ok: false, findings: [{ ...error, severity: "warning" } as Finding, error] },
    ];
    const events: string[] = [];
    const diagnoses: string[] = [];
    const watcher = reloadOnChange(
      resolved as unknown as ResolvedConfig,
      () => Promise.resolve(results.shift()!),
      (_domain, mnemonic, severity, detail) =>
        void events.push(`${severity}:${mnemonic}:${JSON.stringify(detail)}`),
      (finding) => void diagnoses.push(finding.code),
      settle,
    );
    try {
      await writeFile(key, "key two, rotated");
      await expect.poll(() => events, { timeout: 3000 }).toHaveLength(1);
      await writeFile(key, "key three, broken");
      await expect.poll(() => events, { timeout: 3000 }).toHaveLength(2);
      expect(events).toEqual([
        'notice:CREDENTIALS_RELOADED:{"files":"key store, trust store, CRLs"}',
        'warning:CREDENTIALS_RELOAD_FAILED:{"code":"KEY_CERT_MISMATCH","reason":"The key does not fit."}',
      ]);
      expect(diagnoses).toEqual(["KEY_CERT_MISMATCH"]);
    } finally {
      watcher.close();
    }
  });

  it("reports nothing of a reload that finishes after it was closed", async () => {
    const key = join(dir, "closing.key");
    await writeFile(key, "key one");
    let finish!: () => void;
    let reloads = 0;
    const events: string[] = [];
    const watcher = reloadOnChange(
      { baseDir: dir, config: { security: { crl: [key] } } } as unknown as ResolvedConfig,
      () => {
        reloads++;
        return new Promise((resolve) => (finish = () => resolve({ ok: true, findings: [] })));
      },
      (_domain, mnemonic) => void events.push(mnemonic),
      () => undefined,
      settle,
    );
    await writeFile(key, "key two, rotated");
    await expect.poll(() => reloads, { timeout: 3000 }).toBe(1);
    watcher.close();
    expect(watcher.closed).toBe(true);
    finish();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toEqual([]);
  });
});
