import { describe, expect, it } from "vitest";
import { runDemo } from "../src/demo.js";

describe("pnpm demo", () => {
  it("delivers the PLC's readings over mutual TLS and shows why each bad client is refused", async () => {
    const lines: string[] = [];
    const result = await runDemo((line) => lines.push(line));

    expect(result.ok).toBe(true);
    expect(result.received).toEqual(["72.4 %", "RUNNING", "41.8 °C"]);
    expect(result.refusals).toEqual({
      "no client certificate": "NO_CLIENT_CERTIFICATE",
      "expired client certificate": "CERT_HAS_EXPIRED",
      "client trusts another CA": expect.stringMatching(
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/,
      ),
    });
    const text = lines.join("\n");
    expect(text).toMatch(/line1-plc\s+connected: TLSv1\.3, TLS_AES_\w+, certificate CN=line1-plc/);
    expect(text).toContain("SCADA received  line1/pump/state = RUNNING");
    expect(text).toMatch(/Done: readings delivered over mutual TLS/);
  });
});
