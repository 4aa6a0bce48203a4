import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialWatcher } from "./credential-watcher.js";

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
