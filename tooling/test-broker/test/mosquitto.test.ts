import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  MosquittoError,
  createTestPki,
  findMosquitto,
  mosquittoSkipReason,
  probeMqtt,
  startMosquitto,
} from "../src/index.js";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("mosquitto availability", () => {
  const nowhere = { PATH: "", MOSQUITTO_BIN: "/nonexistent/mosquitto" };

  it("skips with a printed reason on a developer machine without the binary", () => {
    expect(findMosquitto(nowhere)).toBeUndefined();
    const printed: string[] = [];
    const print = (line: string): number => printed.push(line);
    const reason = mosquittoSkipReason(nowhere, print);
    expect(reason).toMatch(/no mosquitto binary; install it with `apt-get install -y mosquitto`/);
    expect(mosquittoSkipReason(nowhere, print)).toBe(reason);
    expect(printed).toEqual([reason]);
  });

  it("never skips where CI=true: the tests run and fail on the missing binary", async () => {
    expect(mosquittoSkipReason({ ...nowhere, CI: "true" })).toBe(false);
    await using pki = await createTestPki();
    await expect(startMosquitto({ pki, binary: nowhere.MOSQUITTO_BIN })).rejects.toThrow(
      /could not run \/nonexistent\/mosquitto \(ENOENT\): install it with `apt-get install -y mosquitto`/,
    );
  });
});

describe.skipIf(mosquittoSkipReason())("startMosquitto", () => {
  it("starts on a free loopback port, and is stopped by its PID", async () => {
    await using pki = await createTestPki();
    const mosquitto = await startMosquitto({ pki, plain: true });
    expect(mosquitto.url).toBe(`mqtts://127.0.0.1:${mosquitto.port}`);
    expect(mosquitto.config).toContain("set_tcp_nodelay true");
    expect(isRunning(mosquitto.pid)).toBe(true);
    expect((await probeMqtt(mosquitto.url, { ca: pki.caPem })).connected).toBe(true);
    expect((await probeMqtt(mosquitto.plainUrl!, {})).connected).toBe(true);
    await mosquitto.close();
    expect(isRunning(mosquitto.pid)).toBe(false);
    expect(mosquitto.log()).toMatch(/mosquitto version [\d.]+ running/);
  });

  it("treats tls_version as a minimum: clients still negotiate TLS 1.3 unless they cap it", async () => {
    await using pki = await createTestPki();
    await using mosquitto = await startMosquitto({ pki, tlsVersion: "tlsv1.2" });
    expect((await probeMqtt(mosquitto.url, { ca: pki.caPem })).tlsVersion).toBe("TLSv1.3");
    expect((await probeMqtt(mosquitto.url, { ca: pki.caPem, maxVersion: "TLSv1.2" })).tlsVersion).toBe(
      "TLSv1.2",
    );
    const old = await probeMqtt(mosquitto.url, { ca: pki.caPem, maxVersion: "TLSv1.1", minVersion: "TLSv1" });
    expect(old.connected).toBe(false);
  });

  it("ends with the process that started it, even when close() was forgotten", async () => {
    await using pki = await createTestPki();
    const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url));
    const script = join(pki.dir, "forgetful.mts");
    await writeFile(
      script,
      `import { createTestPki, startMosquitto } from ${JSON.stringify(entry)};\n` +
        "const m = await startMosquitto({ pki: await createTestPki() });\nconsole.log(m.pid);\n",
    );
    // Run from this package, which depends on tsx, so `--import tsx` resolves on a fresh install.
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", script], {
      timeout: 20_000,
      cwd: fileURLToPath(new URL("..", import.meta.url)),
    });
    const pid = Number(stdout.trim());
    expect(pid).toBeGreaterThan(0);
    await expect.poll(() => isRunning(pid), { timeout: 2000 }).toBe(false);
  });

  it("fails with Mosquitto's own log when it cannot start", async () => {
    await using pki = await createTestPki();
    const other = await pki.issueServer({ keySlot: "another-key" });
    // A certificate with somebody else's key: Mosquitto refuses the listener and exits.
    const mismatched = { files: { chain: pki.server.files.chain, key: other.files.key } };
    const failure = await startMosquitto({ pki, serverCertificate: mismatched }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(MosquittoError);
    expect((failure as MosquittoError).message).toMatch(/mosquitto exited with code \d+/);
    expect((failure as MosquittoError).log).toMatch(
      /key values mismatch|private key|Unable to load server key/i,
    );
  });
});
