import { createTestPki } from "@proj/test-broker";
import { describe, expect, it } from "vitest";
import { inspectCrl } from "./crl.js";

describe("inspectCrl", () => {
  it("reads issuer, dates and revoked serials, and refuses DER with the conversion", async () => {
    await using pki = await createTestPki({ name: "pem-crl" });
    const stolen = await pki.issueClient({ name: "stolen" });
    const crl = await pki.createCrl({ revoke: [stolen] });
    const info = inspectCrl(crl.pem);
    expect(info.issuer).toBe(pki.root.subject);
    expect(info.revokedSerials).toEqual([stolen.serial]);
    expect(info.nextUpdate!.getTime()).toBeGreaterThan(Date.now());
    expect(inspectCrl((await pki.createCrl({ expired: true })).pem).nextUpdate!.getTime()).toBeLessThan(
      Date.now(),
    );
    expect(() => inspectCrl(crl.der)).toThrow(expect.objectContaining({ code: "NOT_PEM_DER" }));
    expect(() => inspectCrl(pki.caPem)).toThrow(expect.objectContaining({ code: "PEM_UNEXPECTED_BLOCK" }));
  });
});
