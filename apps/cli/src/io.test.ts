import { describe, expect, it } from "vitest";
import { colorsFor, type CliIo } from "./io.js";

const io = (isTty: boolean, env: NodeJS.ProcessEnv = {}): CliIo => ({
  stdout: () => undefined,
  stderr: () => undefined,
  env,
  cwd: ".",
  isTty,
});

describe("colour", () => {
  it("is on for a terminal and off under NO_COLOR, --no-color, or a pipe", () => {
    expect(colorsFor(io(true)).red("x")).toBe("\u001b[31mx\u001b[39m");
    expect(colorsFor(io(true, { NO_COLOR: "1" })).red("x")).toBe("x");
    expect(colorsFor(io(true), true).red("x")).toBe("x");
    expect(colorsFor(io(false)).red("x")).toBe("x");
  });
});
