import type { Finding } from "@proj/findings";
import { defaultPort, toTlsOptions, type BrokerUrl, type ResolvedConfig } from "@proj/security-config";
import { connect as connectTcp } from "node:net";
import type { Duplex } from "node:stream";
import {
  connect as connectTls,
  createSecureContext,
  type ConnectionOptions,
  type SecureContext,
  type TLSSocket,
} from "node:tls";
import { WebSocket, createWebSocketStream } from "ws";
import { diagnose, summarizeChain, type CertificateSummary } from "./diagnose.js";
import { MqttTlsError } from "./errors.js";
import type { TlsInfo } from "./probe.js";

/** One connection attempt: when it started, and how far it got. */
export interface ConnectAttempt {
  readonly started: number;
  /** The TCP connection (or the WebSocket upgrade) is up. */
  connected: boolean;
  /** The TLS handshake completed. */
  secured: boolean;
}

/** Recently seen broker chains, summarized, by the leaf's SHA-256 fingerprint (bounded; read only). */
const peerChains = new Map<string, CertificateSummary[]>();

/** The finding for credentials the TLS stack refuses before connecting (a key too small for its level, say). */
function keyRefused(error: unknown, resolved: ResolvedConfig, url: BrokerUrl): Finding {
  const code = (error as NodeJS.ErrnoException).code;
  return diagnose({ phase: "tls", code, message: (error as Error).message, localKey: true }, resolved, url);
}

/**
 * The streams a client's MQTT connection runs over: TLS (mqtts://), TLS under a WebSocket (wss://) or plain TCP,
 * to the current broker URL, with the credentials of the configuration in use. It owns the TLS context and the
 * session it resumes, fails over across the URLs, and records how far each attempt got and what the handshake
 * showed. It holds no timer; its sockets are the MQTT client's to close.
 *
 * @example
 * ```ts
 * const transport = new TlsTransport(resolved);
 * const mqtt = new MqttClient(() => transport.createStream(), mqttClientOptions(resolved));
 * ```
 */
export class TlsTransport {
  #resolved: ResolvedConfig;
  #urlIndex = 0;
  #tlsOptions: ConnectionOptions | undefined;
  #secureContext: SecureContext | undefined;
  #session: Buffer | undefined;
  #socket: TLSSocket | undefined;
  #attempt: ConnectAttempt | undefined;
  #tlsInfo: TlsInfo | undefined;

  /** @throws {MqttTlsError} the diagnosis (named, never raw) when the TLS stack refuses the key store. */
  constructor(resolved: ResolvedConfig) {
    this.#resolved = resolved;
    try {
      this.#load();
    } catch (error) {
      const finding = keyRefused(error, resolved, this.url);
      throw new MqttTlsError(finding.code, finding.message, {
        remedy: finding.remedy,
        findings: [finding],
        cause: error,
      });
    }
  }

  /** The configuration whose credentials are in use. */
  get resolved(): ResolvedConfig {
    return this.#resolved;
  }

  /** The broker URL the next attempt goes to. */
  get url(): BrokerUrl {
    return this.#resolved.urls[this.#urlIndex % this.#resolved.urls.length]!;
  }

  /** Protocol, cipher, the broker's chain and whether the session was resumed, as of the last handshake. */
  get tlsInfo(): TlsInfo | undefined {
    return this.#tlsInfo;
  }

  /** The latest attempt. */
  get attempt(): ConnectAttempt | undefined {
    return this.#attempt;
  }

  /** The TLS socket of the latest mqtts:// attempt. */
  get socket(): TLSSocket | undefined {
    return this.#socket;
  }

  /** Whether the broker's certificate is verified. */
  get rejectUnauthorized(): boolean {
    return this.#tlsOptions?.rejectUnauthorized ?? true;
  }

  /**
   * Uses the credentials of `resolved` from the next handshake on (a session is not resumed across them). When
   * the TLS stack refuses them the ones in use stay, and the finding says why.
   */
  use(resolved: ResolvedConfig): Finding | undefined {
    const previous = this.#resolved;
    this.#resolved = resolved;
    try {
      this.#load();
      return undefined;
    } catch (error) {
      this.#resolved = previous;
      this.#load();
      return keyRefused(error, resolved, this.url);
    }
  }

  /** Which entry of the broker list {@link url} is. */
  get urlIndex(): number {
    return this.#urlIndex % this.#resolved.urls.length;
  }

  /** The next attempts go to entry `index` of the broker list (a TLS session is not resumed across entries). */
  moveTo(index: number): void {
    if (index === this.urlIndex) return;
    this.#urlIndex = index;
    this.#load();
  }

  /** Builds (or rebuilds) the TLS context from the key store and trust store: the next handshake uses it. */
  #load(): void {
    const url = this.url;
    this.#tlsOptions = url.tls ? toTlsOptions(this.#resolved, url) : undefined;
    const o = this.#tlsOptions;
    // A stale CRL would make OpenSSL refuse every handshake: leave it out (revocation is then unknown, and the
    // CRL_EXPIRED / CRL_STALE warnings say so) rather than drop the session, as IEC 62351-3 asks.
    const now = new Date();
    const freshCrls = this.#resolved.crls
      .filter((c) => c.info.nextUpdate === undefined || c.info.nextUpdate > now)
      .map((c) => c.info.pem);
    this.#secureContext = o
      ? createSecureContext({
          ...(o.ca ? { ca: o.ca } : {}),
          ...(o.cert ? { cert: o.cert } : {}),
          ...(o.key ? { key: o.key } : {}),
          ...(o.passphrase !== undefined ? { passphrase: o.passphrase } : {}),
          ...(freshCrls.length > 0 ? { crl: freshCrls } : {}),
          ...(o.ciphers ? { ciphers: o.ciphers } : {}),
          ...(o.minVersion ? { minVersion: o.minVersion } : {}),
          ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
        })
      : undefined;
    this.#session = undefined;
  }

  /** Opens the stream of a new attempt to the current URL (resuming the TLS session when there is one). */
  createStream(): Duplex {
    const url = this.url;
    const port = defaultPort(url);
    const attempt: ConnectAttempt = { started: Date.now(), connected: false, secured: false };
    this.#attempt = attempt;
    if (url.scheme === "ws" || url.scheme === "wss") {
      // mqtt.js forwards only six TLS options over wss; here every one is.
      const o = this.#tlsOptions ?? {};
      const tlsForWs = url.tls ? ({ ...o, secureContext: this.#secureContext } as ConnectionOptions) : {};
      const socket = new WebSocket(url.raw, "mqtt", tlsForWs);
      socket.on("upgrade", (response) => this.#recordTls(response.socket as TLSSocket));
      return createWebSocketStream(socket);
    }
    if (!url.tls) {
      const plain = connectTcp({ host: url.host, port });
      plain.once("connect", () => (attempt.connected = true));
      return plain;
    }
    const o = this.#tlsOptions!;
    const socket = connectTls({
      host: url.host,
      port,
      secureContext: this.#secureContext!,
      rejectUnauthorized: o.rejectUnauthorized ?? true,
      ...(o.servername !== undefined ? { servername: o.servername } : {}),
      ...(o.checkServerIdentity ? { checkServerIdentity: o.checkServerIdentity } : {}),
      ...(o.ALPNProtocols ? { ALPNProtocols: o.ALPNProtocols } : {}),
      ...(this.#session ? { session: this.#session } : {}),
    });
    // PUBLISH/PUBACK is request and response: small packets should not wait for Nagle's algorithm.
    socket.setNoDelay(true);
    this.#socket = socket;
    socket.on("session", (session: Buffer) => (this.#session = session));
    socket.once("connect", () => (attempt.connected = true));
    socket.once("secureConnect", () => this.#recordTls(socket));
    return socket;
  }

  #recordTls(socket: TLSSocket): void {
    if (this.#attempt) {
      this.#attempt.connected = true;
      this.#attempt.secured = true;
    }
    if (typeof socket.getProtocol !== "function") return;
    const sessionReused = socket.isSessionReused();
    // Clients of one broker see one chain: summarize it once (the detailed peer chain is costly to build).
    const leaf = socket.getPeerCertificate(false);
    const fingerprint = "fingerprint256" in leaf ? leaf.fingerprint256 : undefined;
    let presented = fingerprint ? peerChains.get(fingerprint) : undefined;
    if (!presented) {
      presented = summarizeChain(socket.getPeerCertificate(true));
      if (fingerprint && presented.length > 0) {
        peerChains.set(fingerprint, presented);
        if (peerChains.size > 64) peerChains.delete(peerChains.keys().next().value!);
      }
    }
    this.#tlsInfo = {
      protocol: socket.getProtocol() ?? undefined,
      cipher: socket.getCipher()?.name,
      // A resumed session carries no certificates: it is the session the full handshake authenticated.
      peerChain: presented.length === 0 && sessionReused ? (this.#tlsInfo?.peerChain ?? []) : presented,
      sessionReused,
    };
  }
}
