import { loadConfig } from "@proj/security-config";
import { describe, expect, it } from "vitest";
import { withCliHints } from "./hints.js";

describe("withCliHints", () => {
  it("adds the command that does the step to a library remedy that does not assume this CLI", async () => {
    const loaded = await loadConfig({
      broker: { url: "mqtts://127.0.0.1:8883" },
      security: { checkServerCertificate: false, pinnedCertificates: ["sha1/abc"] },
    });
    const pin = loaded.findings.find((f) => f.code === "PIN_MALFORMED")!;
    expect(pin.remedy).toMatch(/spkiPin/);
    expect(pin.remedy).not.toMatch(/mqtt-tls/);
    const [hinted] = withCliHints([pin]);
    expect(hinted!.remedy).toBe(`${pin.remedy} \`mqtt-tls inspect CERT\` prints a certificate's spkiPin.`);
    expect(withCliHints(withCliHints([pin]))).toEqual([hinted]);
  });

  it("leaves findings it has no hint for as they are", () => {
    const finding = { code: "CERT_EXPIRED", severity: "error", message: "expired" } as const;
    expect(withCliHints([finding])).toEqual([finding]);
  });
});
