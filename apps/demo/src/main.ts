import { runDemo } from "./demo.js";

const { ok } = await runDemo((line) => console.log(line));
process.exitCode = ok ? 0 : 1;
