import { createSocket } from "node:dgram";
import { connect as connectTcp, type Socket } from "node:net";
import { hostname as osHostname } from "node:os";
import type { Writable } from "node:stream";

/**
 * A security event in the style of the IEC 62351-14 draft catalogue: where it happened, a stable mnemonic, how
 * serious it is, when, and details (never a secret).
 */
export interface SecurityEvent {
  readonly domain: "tls" | "certificate" | "connection";
  readonly mnemonic: string;
  readonly severity: "alarm" | "warning" | "notice";
  readonly time: Date;
  readonly detail: Readonly<Record<string, string | number | boolean>>;
}

/** Where security events go: a function that takes one (it may return a promise; failures are swallowed). */
export type SecurityEventSink = (event: SecurityEvent) => void | Promise<void>;

/** Reports one security event, timed now: where it happened, its mnemonic, how serious it is, the details. */
export type SecurityReport = (
  domain: SecurityEvent["domain"],
  mnemonic: string,
  severity: SecurityEvent["severity"],
  detail: SecurityEvent["detail"],
) => void;

/**
 * Makes the {@link SecurityReport} of a client: each event goes to `emit` (the `securityEvent` event), then to every
 * sink. A sink that throws or rejects never affects the caller.
 *
 * @example
 * ```ts
 * const report = securityReporter((event) => client.emit("securityEvent", event), options.securityEvents);
 * report("tls", "TLS_HANDSHAKE_OK", "notice", { protocol: "TLSv1.3" });
 * ```
 */
export function securityReporter(
  emit: (event: SecurityEvent) => void,
  sinks: SecurityEventSink | readonly SecurityEventSink[] | undefined,
): SecurityReport {
  return (domain, mnemonic, severity, detail) => {
    const event: SecurityEvent = { domain, mnemonic, severity, time: new Date(), detail };
    emit(event);
    for (const sink of sinks === undefined ? [] : typeof sinks === "function" ? [sinks] : sinks) {
      try {
        void Promise.resolve(sink(event)).catch(() => undefined);
      } catch {
        // a sink must not break the client
      }
    }
  };
}

/**
 * Writes each event as one JSON line (e.g. to a log file's stream).
 *
 * @example
 * ```ts
 * const sink = jsonLinesSink(createWriteStream("security-events.jsonl", { flags: "a" }));
 * ```
 */
export function jsonLinesSink(stream: Writable): (event: SecurityEvent) => void {
  return (event) => {
    stream.write(`${JSON.stringify({ ...event, time: event.time.toISOString() })}\n`);
  };
}

/** Options of {@link syslogSink}. */
export interface SyslogOptions {
  host: string;
  port?: number;
  /** UDP (one datagram per message) or TCP (octet-counting framing, RFC 6587). @default "udp" */
  protocol?: "udp" | "tcp";
  /** @default "mqtt-tls" */
  appName?: string;
  /** Syslog facility number. @default 4 (security/authorization) */
  facility?: number;
  /** @default the machine's host name */
  hostname?: string;
}

/** RFC 5424 severities: alarm is critical (2), warning 4, notice 5. */
const SEVERITY = { alarm: 2, warning: 4, notice: 5 } as const;

function sdValue(value: string | number | boolean): string {
  return String(value).replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/**
 * Formats an event as an RFC 5424 syslog message with the details as structured data
 * (`[mqtt-tls@32473 ...]`, the enterprise number RFC 5612 reserves for documentation and examples).
 *
 * @example
 * ```ts
 * formatSyslog(event, { appName: "plc-gateway", hostname: "gw1" });
 * // <34>1 2026-11-22T10:00:00.000Z gw1 plc-gateway 4242 PEER_CERT_UNTRUSTED [mqtt-tls@32473 code="SERVER_CERT_UNTRUSTED"] ...
 * ```
 */
export function formatSyslog(
  event: SecurityEvent,
  options: Pick<SyslogOptions, "appName" | "facility" | "hostname"> = {},
): string {
  const priority = (options.facility ?? 4) * 8 + SEVERITY[event.severity];
  const data = Object.entries(event.detail).map(
    ([key, value]) => `${key.replace(/[^A-Za-z0-9_.-]/g, "_")}="${sdValue(value)}"`,
  );
  const structured = `[mqtt-tls@32473 domain="${event.domain}"${data.length ? ` ${data.join(" ")}` : ""}]`;
  const message = `${event.domain} ${event.severity}: ${event.mnemonic}`;
  return `<${priority}>1 ${event.time.toISOString()} ${options.hostname ?? osHostname()} ${options.appName ?? "mqtt-tls"} ${process.pid} ${event.mnemonic} ${structured} ${message}`;
}

/**
 * Sends events to a syslog collector (RFC 5424) over UDP or TCP. The TCP connection is opened on the first event and
 * again after it drops; events are never allowed to fail the MQTT connection.
 *
 * @example
 * ```ts
 * const client = await connectSecure(config, { securityEvents: [syslogSink({ host: "10.0.0.9", port: 514 })] });
 * ```
 */
export function syslogSink(options: SyslogOptions): ((event: SecurityEvent) => void) & { close(): void } {
  const port = options.port ?? 514;
  const protocol = options.protocol ?? "udp";
  const udp = protocol === "udp" ? createSocket(options.host.includes(":") ? "udp6" : "udp4") : undefined;
  udp?.unref();
  let tcp: Socket | undefined;
  const sink = (event: SecurityEvent): void => {
    const line = formatSyslog(event, options);
    if (udp) {
      udp.send(line, port, options.host);
      return;
    }
    if (!tcp || tcp.destroyed) {
      tcp = connectTcp({ host: options.host, port });
      tcp.on("error", () => tcp?.destroy());
      tcp.unref();
    }
    tcp.write(`${Buffer.byteLength(line)} ${line}`);
  };
  return Object.assign(sink, {
    close() {
      udp?.close();
      tcp?.end();
    },
  });
}
