// Writes the JSON Schema of the configuration into the package, for editors ("$schema") and for publishing.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configJsonSchema } from "../src/schema.js";

const out = fileURLToPath(new URL("../schema/security-config.schema.json", import.meta.url));
mkdirSync(fileURLToPath(new URL("../schema/", import.meta.url)), { recursive: true });
writeFileSync(out, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${out}`);
