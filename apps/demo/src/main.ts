import { runDemo } from "@proj/cli";

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const { ok } = await runDemo((text) => process.stdout.write(text), { color });
process.exitCode = ok ? 0 : 1;
