import { defineConfig } from "tsup";

/**
 * ESM only (a command line and a small programmatic API). The private test broker is bundled in (the `broker`
 * command and the demo use it); the published packages stay dependencies.
 */
export default defineConfig({
  entry: ["src/index.ts", "src/bin.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  sourcemap: true,
  clean: true,
  target: "node20",
  platform: "node",
  noExternal: ["@proj/test-broker"],
  esbuildOptions(options) {
    // Read the test broker from source: it is never built or published on its own.
    options.conditions = ["@proj/source"];
  },
});
