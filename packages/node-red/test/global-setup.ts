import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * The runtime and editor tests install this package into a real Node-RED as a user would (Node-RED loads
 * `nodes/mqtt-tls.cjs`, which loads the built `dist/`), so the package and what it depends on are built first
 * (turbo: a cache hit when nothing changed).
 */
export default function setup(): void {
  const root = fileURLToPath(new URL("../../..", import.meta.url));
  try {
    execFileSync(
      "pnpm",
      ["exec", "turbo", "run", "build", "--filter=@proj/node-red-mqtt-tls...", "--output-logs=errors-only"],
      {
        cwd: root,
        env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(
      `building @proj/node-red-mqtt-tls failed:\n${stdout?.toString() ?? ""}${stderr?.toString() ?? ""}`,
      { cause: error },
    );
  }
}
