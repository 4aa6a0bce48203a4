import mqtt, { type IClientOptions } from "mqtt";
import type { ConnectionOptions, TLSSocket } from "node:tls";

/** mqtt.js options plus the Node TLS options mqtt.js passes through to `tls.connect` but does not type. */
export type ProbeOptions = IClientOptions & Omit<ConnectionOptions, keyof IClientOptions>;

/** What one connection attempt came to. */
export interface ProbeResult {
  /** CONNACK accepted. */
  readonly connected: boolean;
  /** The first error seen (TLS, socket or MQTT), if any. */
  readonly error: { readonly code: string | undefined; readonly message: string } | undefined;
  /** The connection closed before CONNACK without any error event (how mqtt.js reports some TLS 1.3 refusals). */
  readonly closedWithoutError: boolean;
  /** No outcome within the deadline. */
  readonly timedOut: boolean;
  /** Negotiated TLS version of a TLS connection that got that far, e.g. `TLSv1.3`. */
  readonly tlsVersion: string | undefined;
  readonly elapsedMs: number;
}

/**
 * Tries one MQTT connection and always settles: connected, refused with the error, closed without one, or timed
 * out (mqtt.js's own `connectAsync` never settles in some TLS failures). The client is ended before it returns.
 *
 * @example
 * ```ts
 * const result = await probeMqtt(broker.url, { ca: pki.caPem });
 * expect(result.error?.code).toBe("CERT_HAS_EXPIRED");
 * ```
 */
export async function probeMqtt(
  url: string,
  options: ProbeOptions = {},
  timeoutMs = 5000,
): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  let client: mqtt.MqttClient;
  try {
    client = mqtt.connect(url, { ...options, reconnectPeriod: 0, connectTimeout: timeoutMs });
  } catch (error) {
    // mqtt.js builds the TLS context synchronously: a wrong passphrase or a key that does not match throws here.
    const { code, message } = error as NodeJS.ErrnoException;
    return {
      connected: false,
      error: { code, message },
      closedWithoutError: false,
      timedOut: false,
      tlsVersion: undefined,
      elapsedMs: elapsed(),
    };
  }
  let firstError: { code: string | undefined; message: string } | undefined;
  let tlsVersion: string | undefined;
  const outcome = await new Promise<Pick<ProbeResult, "connected" | "timedOut">>((resolve) => {
    const timer = setTimeout(() => resolve({ connected: false, timedOut: true }), timeoutMs);
    const settle = (connected: boolean): void => {
      clearTimeout(timer);
      resolve({ connected, timedOut: false });
    };
    client.on("connect", () => {
      tlsVersion = (client.stream as Partial<TLSSocket>).getProtocol?.() ?? undefined;
      settle(true);
    });
    client.on("error", (error: Error & { code?: string | number }) => {
      firstError ??= {
        code: error.code === undefined ? undefined : String(error.code),
        message: error.message,
      };
    });
    client.on("close", () => settle(false));
  });
  tlsVersion ??= (client.stream as Partial<TLSSocket> | undefined)?.getProtocol?.() ?? undefined;
  await client.endAsync(true).catch(() => undefined);
  return {
    ...outcome,
    error: firstError,
    closedWithoutError: !outcome.connected && !outcome.timedOut && firstError === undefined,
    tlsVersion,
    elapsedMs: elapsed(),
  };
}
