import { BASELINE, IEC_62351_3 } from "@proj/security-config";
import { describe, expect, it } from "vitest";
import type { CertificateSummary } from "./diagnose.js";
import { HandshakeChecks } from "./handshake-checks.js";
import type { TlsInfo } from "./probe.js";
import type { SecurityEvent } from "./security-events.js";

const certificate = (subject: string, derBytes: number) => ({ subject, derBytes }) as CertificateSummary;

const info = (protocol: string, peerChain: CertificateSummary[], sessionReused = false): TlsInfo => ({
  protocol,
  cipher: "TLS_AES_256_GCM_SHA384",
  peerChain,
  sessionReused,
});

function checks() {
  const events: Pick<SecurityEvent, "mnemonic" | "severity" | "detail">[] = [];
  return {
    events,
    checks: new HandshakeChecks(
      (_domain, mnemonic, severity, detail) => void events.push({ mnemonic, severity, detail }),
    ),
  };
}

describe("HandshakeChecks", () => {
  it("reports each handshake, a planned renewal as such, and warns when the TLS version changes", () => {
    const { checks: c, events } = checks();
    const chain = [certificate("CN=broker", 900)];
    expect(c.secured(info("TLSv1.2", chain), false, BASELINE)).toBeUndefined();
    expect(c.secured(info("TLSv1.2", chain, true), true, BASELINE)).toBeUndefined();
    expect(c.secured(info("TLSv1.3", chain), false, BASELINE)).toBeUndefined();
    expect(events).toEqual([
      {
        mnemonic: "TLS_HANDSHAKE_OK",
        severity: "notice",
        detail: {
          protocol: "TLSv1.2",
          cipher: "TLS_AES_256_GCM_SHA384",
          peer: "CN=broker",
          sessionReused: false,
        },
      },
      {
        mnemonic: "SESSION_RENEWED",
        severity: "notice",
        detail: {
          protocol: "TLSv1.2",
          cipher: "TLS_AES_256_GCM_SHA384",
          peer: "CN=broker",
          sessionReused: true,
        },
      },
      expect.objectContaining({ mnemonic: "TLS_HANDSHAKE_OK" }),
      { mnemonic: "TLS_VERSION_CHANGED", severity: "warning", detail: { from: "TLSv1.2", to: "TLSv1.3" } },
    ]);
  });

  it("refuses a broker certificate over the limit of a profile that makes it an error, with an alarm", () => {
    const { checks: c, events } = checks();
    const oversized = [certificate("CN=broker", 9000), certificate("CN=ca", 800)];
    // The baseline profile only warns about size when validating: a live connection is not refused for it.
    expect(c.secured(info("TLSv1.3", oversized), false, BASELINE)).toBeUndefined();
    const refused = c.secured(info("TLSv1.3", oversized), false, IEC_62351_3);
    expect(refused).toMatchObject({ code: "CERT_TOO_LARGE", severity: "error" });
    expect(refused?.message).toBe(
      'The broker\'s certificate "CN=broker" is 9000 bytes; the iec62351-3 profile allows 8192.',
    );
    expect(events.at(-1)).toEqual({
      mnemonic: "PEER_CERT_TOO_LARGE",
      severity: "alarm",
      detail: { subject: "CN=broker", bytes: 9000, limit: 8192 },
    });
    expect(c.secured(info("TLSv1.3", [certificate("CN=broker", 8192)]), false, IEC_62351_3)).toBeUndefined();
  });
});
