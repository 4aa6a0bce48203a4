import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * The CLI tests run the built `mqtt-tls` bin as a process, so the CLI and the packages it depends on are built
 * first (turbo: a cache hit when nothing changed).
 */
export default function setup(): void {
  const root = fileURLToPath(new URL("../../..", import.meta.url));
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
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the CLI failed:\n${stdout?.toString() ?? ""}${stderr?.toString() ?? ""}`, {
      cause: error,
    });
  }
}
