import { defineConfig, type Options } from "tsup";
import shared from "../../tsup.shared.js";

// The testing entry imports Vitest, which loads as ESM only: it is built (and exported) as ESM alone.
export default defineConfig([
  { ...(shared as Options), entry: ["src/index.ts"], external: ["vitest"] },
  { ...(shared as Options), entry: ["src/testing.ts"], format: ["esm"], clean: false, external: ["vitest"] },
]);
