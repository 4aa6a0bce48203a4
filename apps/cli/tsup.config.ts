import { defineConfig } from "tsup";

/** ESM only (a command line and a small programmatic API); every workspace package stays a dependency. */
export default defineConfig({
  entry: ["src/index.ts", "src/bin.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  sourcemap: true,
  clean: true,
  target: "node20",
  platform: "node",
});
