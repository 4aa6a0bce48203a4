export { runCli } from "./cli.js";
export { runDemo } from "./demo.js";
export type { DemoResult } from "./demo.js";
export { CLI_ERROR_CODES, CliError, isCliError } from "./errors.js";
export type { CliErrorCode } from "./errors.js";
export type { CliIo } from "./io.js";
