import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
/** The first error of a report printed as text (its "Errors (n)" group comes first). */
const firstErrorInText = (text: string) => /^ *Errors \(\d+\)\n *✖ (\w+)/m.exec(text)?.[1];

describe("pnpm demo", () => {
  it("runs from source on a fresh checkout and ends by itself with exit 0", async () => {
    const cwd = fileURLToPath(new URL("..", import.meta.url));
    // The same command `pnpm demo` runs, without a build: tsx reads the workspace through @proj/source.
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "--conditions=@proj/source", "src/main.ts"],
      {
        cwd,
        timeout: 60_000,
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    expect(stdout).toMatch(/PLC line1-nx3004: TLSv1\.2/);
    expect(stdout).toMatch(/SERVER_CERT_UNTRUSTED[\s\S]*CERT_EXPIRED/);
    // Each broken configuration is named by its first error: the cause, not what follows from it.
    const [, wrongCa, expired] = stdout.split(/\n\d\. A broken configuration/);
    expect(firstErrorInText(wrongCa!)).toBe("SERVER_CERT_UNTRUSTED");
    expect(firstErrorInText(expired!)).toBe("CERT_EXPIRED");
    // Sparkplug B: the PLC's births become Geo SCADA points, its data and a write back cross, its death is seen.
    expect(stdout).toMatch(/5\. Sparkplug B[\s\S]*SCADA NBIRTH Plant1\/line1-nx3004 \(bdSeq 0\)/);
    expect(stdout).toMatch(/would make 4 points:[\s\S]*line1\/tank-level\s+Float\s+analog \(%\)/);
    expect(stdout).toMatch(/PLC received NCMD: line1\/pump1\/running = true/);
    expect(stdout).toMatch(/Online State: False, NDEATH received /);
    // The fleet's audit, one rotation checked before its switch, one revocation the broker enforces.
    expect(stdout).toMatch(/8\. mqtt-tls audit[\s\S]*CN=line2-nx3003/);
    expect(stdout).toMatch(/9\. mqtt-tls rotate[\s\S]*new serial [0-9A-F]+/);
    expect(firstErrorInText(stdout.split(/\n10\. The PLC is stolen/)[1]!)).toBe("CLIENT_CERT_REVOKED");
    expect(stdout).toMatch(/Done: the PLC's tags reached SCADA over mutual TLS 1\.2/);
  });
});
