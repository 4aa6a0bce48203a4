import { defineConfig } from "tsup";
import shared from "../../tsup.shared.js";

export default defineConfig({
  ...(shared as object),
  entry: ["src/index.ts", "src/testing.ts"],
  external: ["vitest"],
});
