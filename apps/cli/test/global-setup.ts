import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * The CLI tests run the built `mqtt-tls` bin as a process, so the CLI and the packages it depends on are built
 * first (turbo: a cache hit when nothing changed).
 */
export default function setup(): void {
  const root = fileURLToPath(new URL("../../..", import.meta.url));
  const started = Date.now();
  // Said before the wait: a first build takes about 40 s, in which the tests print nothing else.
  process.stderr.write(
    "… building the mqtt-tls CLI for its process tests (about 40 s the first time, cached after)\n",
  );
  try {
    execFileSync(
      "pnpm",
      ["exec", "turbo", "run", "build", "--filter=@proj/cli...", "--output-logs=errors-only"],
      {
        cwd: root,
        env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    process.stderr.write(`… the mqtt-tls CLI is built (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the CLI failed:\n${stdout?.toString() ?? ""}${stderr?.toString() ?? ""}`, {
      cause: error,
    });
  }
}
