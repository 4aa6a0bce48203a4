import { defineConfig } from "tsup";

/** The build every package uses: ESM and CJS with type declarations, for Node 20.19+. */
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  platform: "node",
});
