import { execFile } from "node:child_process";
import { readFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../..", import.meta.url));

/** Every package folder that may be published: the CLI and the libraries it depends on. */
async function packageDirs(): Promise<string[]> {
  const libraries = await readdir(join(root, "packages"));
  return [...libraries.map((name) => join(root, "packages", name)), join(root, "apps/cli")];
}

describe("the packed @proj/cli", () => {
  it("installs from its tarball into an empty folder and runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mqtt-tls-pack-"));
    try {
      // pnpm pack turns workspace: ranges into versions, as publishing does; npm then installs like a user would.
      for (const pkg of await packageDirs()) {
        const manifest = JSON.parse(await readFile(join(pkg, "package.json"), "utf8")) as {
          private?: boolean;
        };
        if (manifest.private) continue;
        await run("pnpm", ["pack", "--pack-destination", dir], { cwd: pkg });
      }
      const tarballs = (await readdir(dir)).filter((f) => f.endsWith(".tgz"));
      expect(tarballs).toContain("proj-cli-0.0.0.tgz");
      await writeFile(join(dir, "package.json"), JSON.stringify({ name: "pack-test", private: true }));
      await run(
        "npm",
        [
          "install",
          "--no-audit",
          "--no-fund",
          "--prefer-offline",
          "--loglevel=error",
          ...tarballs.map((t) => `./${t}`),
        ],
        {
          cwd: dir,
          timeout: 180_000,
        },
      );
      const bin = join(dir, "node_modules/.bin/mqtt-tls");
      const help = await run(bin, ["--help"], { cwd: dir });
      expect(help.stdout).toMatch(/^Usage: mqtt-tls/);
      // The parts loaded on demand resolve from the install too: the adapters, and the PKI code.
      expect((await run(bin, ["devices"], { cwd: dir })).stdout).toContain("altus-nexto");
      const init = await run(bin, ["pki", "init", "--dir", "lab", "--key", "ec-p256"], { cwd: dir });
      expect(init.stdout).toContain("Lab CA in lab (ec-p256)");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
