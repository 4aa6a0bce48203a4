import { createFinding, type Finding } from "@proj/findings";
import type { Profile } from "@proj/security-config";
import type { TlsInfo } from "./probe.js";
import type { SecurityReport } from "./security-events.js";

/**
 * What each completed TLS handshake of a client is checked for: it is reported (`TLS_HANDSHAKE_OK`, or
 * `SESSION_RENEWED` for a planned renewal), a TLS version other than the last connection's warns
 * (`TLS_VERSION_CHANGED`), and a broker certificate over the profile's size limit (when the profile makes
 * `CERT_TOO_LARGE` an error) raises an alarm and yields the finding the connection is refused with. It holds no timer.
 *
 * @example
 * ```ts
 * const checks = new HandshakeChecks(report);
 * const refused = client.tlsInfo && checks.secured(client.tlsInfo, false, profile);
 * if (refused) await client.end(true);
 * ```
 */
export class HandshakeChecks {
  readonly #report: SecurityReport;
  #lastProtocol: string | undefined;

  constructor(report: SecurityReport) {
    this.#report = report;
  }

  /** Checks a handshake; returns the `CERT_TOO_LARGE` finding when the connection must not be used. */
  secured(info: TlsInfo, renewal: boolean, profile: Profile): Finding | undefined {
    this.#report("tls", renewal ? "SESSION_RENEWED" : "TLS_HANDSHAKE_OK", "notice", {
      protocol: info.protocol ?? "",
      cipher: info.cipher ?? "",
      peer: info.peerChain[0]?.subject ?? "",
      sessionReused: info.sessionReused,
    });
    if (this.#lastProtocol !== undefined && info.protocol !== this.#lastProtocol) {
      this.#report("tls", "TLS_VERSION_CHANGED", "warning", {
        from: this.#lastProtocol,
        to: info.protocol ?? "",
      });
    }
    this.#lastProtocol = info.protocol;

    const limit = profile.severities.CERT_TOO_LARGE === "error" ? profile.parameters.maxCertBytes : undefined;
    const oversized = limit === undefined ? undefined : info.peerChain.find((c) => c.derBytes > limit);
    if (!oversized || limit === undefined) return undefined;
    this.#report("certificate", "PEER_CERT_TOO_LARGE", "alarm", {
      subject: oversized.subject,
      bytes: oversized.derBytes,
      limit,
    });
    return createFinding(
      "CERT_TOO_LARGE",
      "error",
      `The broker's certificate "${oversized.subject}" is ${oversized.derBytes} bytes; the ${profile.id} profile allows ${limit}.`,
      { remedy: "Have the broker's certificate reissued smaller, or use a profile without the limit." },
    );
  }
}
