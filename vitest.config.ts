import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

/**
 * Every workspace package with tests is one Vitest project. Packages resolve each other through the
 * `@proj/source` export condition, so a clean checkout tests without building first.
 */
// Vitest hands these to the worker as Node `--conditions` too, so nothing here may change what a dependency's
// own `require()` picks: an "import" or "module" condition made mqtt.js require the ESM build of `ws`.
const sourceConditions = ["@proj/source", "node"];

/** The repository's root: packages are found from here, whichever folder Vitest runs in (`pnpm --filter X test`). */
const rootDir = dirname(fileURLToPath(import.meta.url));

function workspaceProjects(): TestProjectInlineConfiguration[] {
  const projects: TestProjectInlineConfiguration[] = [];
  for (const group of ["packages", "apps", "tooling"]) {
    if (!existsSync(join(rootDir, group))) continue;
    for (const entry of readdirSync(join(rootDir, group), { withFileTypes: true })) {
      const dir = join(rootDir, group, entry.name);
      const manifest = join(dir, "package.json");
      if (!entry.isDirectory() || !existsSync(manifest)) continue;
      const { name } = JSON.parse(readFileSync(manifest, "utf8")) as { name: string };
      projects.push({
        extends: true,
        test: {
          name,
          root: dir,
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          // A package whose tests need something prepared once (the CLI: its built bin) says so in this file.
          ...(existsSync(join(dir, "test/global-setup.ts"))
            ? { globalSetup: [resolve(dir, "test/global-setup.ts")] }
            : {}),
        },
      });
    }
  }
  return projects;
}

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions } },
  test: {
    projects: workspaceProjects(),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // CI reads the totals from this file to print its one-line summary.
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".ci/results.json" }]] : ["default"],
  },
});
