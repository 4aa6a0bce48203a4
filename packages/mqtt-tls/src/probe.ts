import { createFinding, type Finding } from "@proj/findings";
import {
  checkPresentedChain,
  defaultPort,
  isLoadedConfig,
  loadConfig,
  toTlsOptions,
  type BrokerUrl,
  type LoadedConfig,
  type ResolvedConfig,
  type ValidateOptions,
} from "@proj/security-config";
import mqttPacket from "mqtt-packet";
import { randomBytes } from "node:crypto";
import { connect as connectTcp, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { connect as connectTls, type TLSSocket } from "node:tls";
import { WebSocket, createWebSocketStream } from "ws";
import {
  diagnose,
  explainedBy,
  summarizeChain,
  type CertificateSummary,
  type ConnectionFailure,
} from "./diagnose.js";
import { IdentityProbe, type BrokerIdentity } from "./broker-identity.js";

/** What was negotiated on a TLS connection. */
export interface TlsInfo {
  readonly protocol: string | undefined;
  readonly cipher: string | undefined;
  /** The chain the broker presented, leaf first. */
  readonly peerChain: readonly CertificateSummary[];
  readonly sessionReused: boolean;
}

/** The result of {@link probe}. */
export interface ProbeResult {
  /** A connection was tried (not when the configuration itself rules it out, e.g. TLS asked for on a plain URL). */
  readonly attempted: boolean;
  /** TLS (when configured) and MQTT CONNECT both succeeded. */
  readonly connected: boolean;
  /**
   * The diagnosis of a failure (one finding, with `causedBy` when a finding of the configuration explains it), or,
   * when connected, what the profile says of the chain the broker presented (weak key, size, expiring soon...).
   */
  readonly findings: Finding[];
  readonly tlsInfo: TlsInfo | undefined;
  readonly elapsedMs: number;
  /** The URL probed. */
  readonly url: string;
  /** When connected with `identify`: which broker it is, where it can tell, and the highest QoS it grants. */
  readonly broker?: BrokerIdentity;
}

/** Options of {@link probe}: how to read the configuration, the deadline, and which broker URL. */
export interface ProbeOptions extends ValidateOptions {
  /** Deadline of the whole attempt. @default the config's connectTimeoutMs (10 s) */
  timeoutMs?: number;
  /** Which of the config's broker URLs. @default the first */
  urlIndex?: number;
  /**
   * After an accepted CONNECT, ask the broker who it is (`result.broker`): subscribe to its `$SYS` version topics
   * and a throwaway topic at QoS 2, then unsubscribe. `mqtt-tls doctor` does. @default false
   */
  identify?: boolean;
}

interface Attempt {
  readonly connected: boolean;
  readonly identity?: BrokerIdentity;
  readonly failure?: ConnectionFailure;
  readonly tlsInfo?: TlsInfo;
}

const TLS_RECORD = new Set([0x15, 0x16]);

function connectPacket(resolved: ResolvedConfig): Buffer {
  const { broker } = resolved.config;
  return mqttPacket.generate({
    cmd: "connect",
    protocolId: broker.protocolVersion === 3 ? "MQIsdp" : "MQTT",
    protocolVersion: broker.protocolVersion,
    // With the client's own id, its own session flag: a clean-session probe would wipe a persistent session and
    // the messages the broker queued for it (a reconnecting client diagnoses with this probe).
    clean: broker.clientId === undefined ? true : broker.cleanSession,
    clientId: broker.clientId ?? `mqtt-tls-probe-${randomBytes(4).toString("hex")}`,
    keepalive: broker.keepaliveSeconds,
    ...(broker.username !== undefined ? { username: broker.username } : {}),
    ...(broker.password !== undefined ? { password: Buffer.from(broker.password) } : {}),
  });
}

/**
 * One attempt: TCP, TLS (verified before anything is sent), CONNECT, CONNACK, under one deadline. With
 * `handshakeOnly` it ends once TCP (plain) or the verified TLS handshake is done, and sends no MQTT at all.
 */
function attempt(
  resolved: ResolvedConfig,
  url: BrokerUrl,
  timeoutMs: number,
  handshakeOnly = false,
  identify = false,
): Promise<Attempt> {
  return new Promise((resolve) => {
    const host = url.host;
    const port = defaultPort(url);
    const tlsOptions = url.tls ? toTlsOptions(resolved, url) : undefined;
    let phase: ConnectionFailure["phase"] = "tcp";
    let handshakeDone = false;
    let tlsInfo: TlsInfo | undefined;
    let firstError: NodeJS.ErrnoException | undefined;
    let settled = false;
    let socket: Socket;
    /** Set once CONNACK accepted and the broker is being asked who it is: a close now still means connected. */
    let identity: IdentityProbe | undefined;

    const settle = (result: Attempt): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners("data");
      socket.on("error", () => undefined);
      socket.destroy();
      resolve(result);
    };
    const fail = (extra: Partial<ConnectionFailure> = {}): void =>
      identity
        ? identity.stop()
        : settle({
            connected: false,
            ...(tlsInfo ? { tlsInfo } : {}),
            failure: {
              phase,
              handshakeDone,
              code: firstError?.code,
              message: firstError?.message,
              peerChain: tlsInfo?.peerChain ?? [],
              ...extra,
            },
          });

    const sendConnect = (stream: Duplex = socket): void => {
      phase = "mqtt";
      const parser = mqttPacket.parser({ protocolVersion: resolved.config.broker.protocolVersion });
      parser.on("packet", (packet) => {
        if (identity) {
          identity.packet(packet);
          return;
        }
        if (packet.cmd !== "connack") return;
        const code =
          (packet as { returnCode?: number; reasonCode?: number }).returnCode ??
          (packet as { reasonCode?: number }).reasonCode ??
          0;
        const connected = (found?: BrokerIdentity): void => {
          if (!stream.destroyed) stream.write(mqttPacket.generate({ cmd: "disconnect" }));
          settle({ connected: true, ...(tlsInfo ? { tlsInfo } : {}), ...(found ? { identity: found } : {}) });
        };
        if (code === 0 && identify)
          identity = new IdentityProbe(stream, resolved.config.broker.protocolVersion, connected);
        else if (code === 0) connected();
        else {
          const reasonString = (packet as { properties?: { reasonString?: string } }).properties
            ?.reasonString;
          fail({ connackCode: code, ...(reasonString === undefined ? {} : { reasonString }) });
        }
      });
      parser.on("error", (error) => {
        firstError ??= error as NodeJS.ErrnoException;
        fail();
      });
      let first = true;
      stream.on("data", (chunk: Buffer) => {
        if (first && !url.tls && TLS_RECORD.has(chunk[0]!) && chunk[1] === 0x03) {
          fail({ tlsOnPlainPort: true });
          return;
        }
        first = false;
        parser.parse(chunk);
      });
      try {
        stream.write(connectPacket(resolved));
      } catch (error) {
        // A CONNECT that cannot be encoded (a password without a username under MQTT 3.1.1): the configuration's
        // finding says why; the probe fails instead of throwing from a socket event.
        firstError ??= error as NodeJS.ErrnoException;
        fail();
      }
    };

    // MQTT over WebSocket: the upgrade runs over the socket already connected (and, for wss, verified).
    const isWebSocket = url.scheme === "ws" || url.scheme === "wss";
    const upgrade = (): void => {
      phase = "mqtt";
      const ws = new WebSocket(url.raw, "mqtt", { createConnection: () => socket });
      ws.once("unexpected-response", (_request, response) => {
        // A broker may say why in the body (the dev broker names a refused client certificate there).
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          if (body.length < 512) body += chunk;
        });
        response.once("end", () => {
          const reasonString = body.trim().slice(0, 512);
          fail({ upgradeRefused: response.statusCode ?? 0, ...(reasonString ? { reasonString } : {}) });
        });
        response.once("error", () => fail({ upgradeRefused: response.statusCode ?? 0 }));
      });
      ws.once("error", (error: NodeJS.ErrnoException) => {
        firstError ??= error;
        fail();
      });
      ws.once("open", () => sendConnect(createWebSocketStream(ws)));
    };

    if (tlsOptions) {
      // Verification is done here after the handshake so the chain can be diagnosed; nothing is sent before it passes.
      let tls: TLSSocket;
      try {
        tls = connectTls({ ...tlsOptions, host, port, rejectUnauthorized: false });
      } catch (error) {
        // Node refuses the client's own key before any byte is sent (wrong passphrase, key and certificate apart).
        const code = (error as NodeJS.ErrnoException).code;
        resolve({
          connected: false,
          failure: { phase: "tls", code, message: (error as Error).message, localKey: true },
        });
        return;
      }
      socket = tls;
      tls.once("connect", () => (phase = "tls"));
      tls.once("secureConnect", () => {
        handshakeDone = true;
        tlsInfo = {
          protocol: tls.getProtocol() ?? undefined,
          cipher: tls.getCipher()?.name,
          peerChain: summarizeChain(tls.getPeerCertificate(true)),
          sessionReused: tls.isSessionReused(),
        };
        if (tlsOptions.rejectUnauthorized !== false && !tls.authorized) {
          fail({ code: String(tls.authorizationError) });
          return;
        }
        if (handshakeOnly) settle({ connected: true, tlsInfo });
        else if (isWebSocket) upgrade();
        else sendConnect();
      });
    } else {
      socket = connectTcp({ host, port });
      socket.once("connect", () =>
        handshakeOnly ? settle({ connected: true }) : isWebSocket ? upgrade() : sendConnect(),
      );
    }
    socket.on("error", (error: NodeJS.ErrnoException) => {
      firstError ??= error;
      fail();
    });
    socket.on("close", () => fail());
    const timer = setTimeout(() => fail({ timedOut: true, timeoutMs }), timeoutMs);
  });
}

/** After a failure that could be a listener of the other kind, checks what the port really speaks. */
async function crossCheck(
  resolved: ResolvedConfig,
  url: BrokerUrl,
  failure: ConnectionFailure,
  timeoutMs: number,
): Promise<ConnectionFailure> {
  // Silence until the deadline is a stalled route or server: a plain listener answers a ClientHello by closing.
  const ambiguous =
    failure.phase !== "tcp" &&
    failure.connackCode === undefined &&
    !failure.tlsOnPlainPort &&
    !failure.timedOut;
  if (
    url.tls &&
    failure.connackCode === 5 &&
    resolved.config.broker.protocolVersion !== 5 &&
    failure.reasonString === undefined
  ) {
    // MQTT 3.1.1 has no room for a reason: ask once more in MQTT 5, whose CONNACK may say why (a refused client
    // certificate, say). The broker was verified on the first attempt; a broker without MQTT 5 tells nothing new.
    const again = await attempt(
      {
        ...resolved,
        config: { ...resolved.config, broker: { ...resolved.config.broker, protocolVersion: 5 } },
      },
      url,
      Math.min(timeoutMs, 3000),
    );
    const reasonString = again.failure?.reasonString;
    return reasonString === undefined ? failure : { ...failure, reasonString };
  }
  if (
    resolved.config.broker.protocolVersion === 5 &&
    failure.phase === "mqtt" &&
    failure.connackCode === undefined &&
    failure.upgradeRefused === undefined &&
    !failure.timedOut
  ) {
    // A socket closed on an MQTT 5 CONNECT: a broker that speaks only 3.1.1 (RabbitMQ 3.x) does that, and so does
    // one that refuses the client certificate after a TLS 1.3 handshake. A 3.1.1 CONNECT tells them apart.
    const v4 = await attempt(
      {
        ...resolved,
        config: { ...resolved.config, broker: { ...resolved.config.broker, protocolVersion: 4 } },
      },
      url,
      Math.min(timeoutMs, 3000),
    );
    const v4Answer = v4.connected ? 0 : v4.failure?.connackCode;
    if (v4Answer !== undefined) return { ...failure, versionUnsupported: { v4Answer } };
  }
  if (!ambiguous) return failure;
  if (url.tls && !failure.handshakeDone) {
    // TLS got no proper answer: does the port answer plain MQTT? Asked anonymously, under a throwaway clientId:
    // credentials must never go in clear to a port that was meant to be TLS (a CONNACK refusal still tells).
    const {
      username: _username,
      password: _password,
      clientId: _clientId,
      ...anonymous
    } = resolved.config.broker;
    const plain = await attempt(
      { ...resolved, config: { ...resolved.config, broker: anonymous } },
      { ...url, tls: false },
      Math.min(timeoutMs, 3000),
    );
    if (plain.connected || plain.failure?.connackCode !== undefined)
      return { ...failure, plainOnTlsPort: true };
  } else if (!url.tls) {
    // Plain MQTT got no CONNACK: does the port complete a TLS handshake?
    const speaksTls = await new Promise<boolean>((resolve) => {
      const probeSocket = connectTls({ host: url.host, port: defaultPort(url), rejectUnauthorized: false });
      const done = (value: boolean) => {
        clearTimeout(timer);
        probeSocket.destroy();
        resolve(value);
      };
      probeSocket.once("secureConnect", () => done(true));
      probeSocket.once("error", (error: NodeJS.ErrnoException) =>
        done(/ALERT|SSL/i.test(`${error.code} ${error.message}`) && !/WRONG_VERSION/.test(`${error.code}`)),
      );
      const timer = setTimeout(() => done(false), Math.min(timeoutMs, 3000));
    });
    if (speaksTls) return { ...failure, tlsOnPlainPort: true };
  }
  return failure;
}

/**
 * One TLS handshake and one MQTT CONNECT/CONNACK against the configured broker, always settled within the deadline:
 * `{ attempted, connected, findings, tlsInfo, elapsedMs }`. A failure comes back as one finding with a live code
 * and a remedy (`SERVER_CERT_UNTRUSTED`, `CLIENT_CERT_REJECTED`, `TLS_EXPECTED`, `CONNECT_TIMEOUT`, ...), with
 * `causedBy` when a finding of the configuration explains it; a success comes back with what the profile says of
 * the broker's chain. The broker is verified before anything, credentials included, is sent, and nothing is sent
 * when the URL contradicts the TLS setting. Takes a {@link LoadedConfig} as it is (or a path or an object, loaded
 * here). `mqtt-tls doctor` runs it after the static checks.
 *
 * @example
 * ```ts
 * const loaded = await loadConfig({ broker: { url: "mqtts://10.0.0.5:8883" }, security: { trustStore: ["ca.pem"], serverName: "broker.plant.local" } });
 * const result = await probe(loaded);
 * if (!result.connected) console.log(result.findings[0]?.code, result.findings[0]?.remedy);
 * ```
 */
export async function probe(config: unknown, options: ProbeOptions = {}): Promise<ProbeResult> {
  const loaded = isLoadedConfig(config) ? config : await loadConfig(config as object | string, options);
  const resolved = loaded.resolved;
  const url = resolved?.urls[options.urlIndex ?? 0];
  if (!resolved || !url) {
    const findings = loaded.findings.filter((f) => f.severity === "error");
    return { attempted: false, connected: false, findings, tlsInfo: undefined, elapsedMs: 0, url: "" };
  }
  const mismatch = loaded.findings.find((f) => f.code === "URL_SCHEME_MISMATCH");
  if (url.tls !== resolved.config.security.enableTls) {
    // A plain URL while TLS is asked for would send the credentials in clear; the reverse cannot work either.
    return {
      attempted: false,
      connected: false,
      findings: mismatch ? [mismatch] : [],
      tlsInfo: undefined,
      elapsedMs: 0,
      url: url.display,
    };
  }
  return probeUrl(
    resolved,
    url,
    options.timeoutMs ?? resolved.config.broker.connectTimeoutMs,
    loaded,
    options.identify ?? false,
  );
}

/**
 * {@link probe} for one URL of a configuration already resolved, without judging the broker's chain by a profile.
 *
 * @example
 * ```ts
 * const loaded = await loadConfig("plc.json");
 * const result = await probeResolved(loaded.resolved!, loaded.resolved!.urls[1]!, 5000);
 * ```
 */
export async function probeResolved(
  resolved: ResolvedConfig,
  url: BrokerUrl,
  timeoutMs: number,
): Promise<ProbeResult> {
  return probeUrl(resolved, url, timeoutMs, undefined);
}

async function probeUrl(
  resolved: ResolvedConfig,
  url: BrokerUrl,
  timeoutMs: number,
  loaded: LoadedConfig | undefined,
  identify = false,
): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const outcome = await attempt(resolved, url, timeoutMs, false, identify);
  if (outcome.connected) {
    const chain = outcome.tlsInfo?.peerChain.map((c) => c.pem) ?? [];
    const findings = loaded && chain.length > 0 ? checkPresentedChain(loaded, chain) : [];
    const maxQos = outcome.identity?.maxQos;
    if (maxQos === 0 || maxQos === 1) findings.push(qosDowngraded(maxQos, outcome.identity?.kind));
    return {
      attempted: true,
      connected: true,
      findings,
      tlsInfo: outcome.tlsInfo,
      elapsedMs: elapsed(),
      url: url.display,
      ...(outcome.identity ? { broker: outcome.identity } : {}),
    };
  }
  const failure = outcome.failure!.localKey
    ? outcome.failure!
    : await crossCheck(resolved, url, outcome.failure!, timeoutMs);
  const finding = diagnose(failure, resolved, url);
  return {
    attempted: true,
    connected: false,
    findings: [loaded ? explainedBy(finding, loaded.findings) : finding],
    tlsInfo: outcome.tlsInfo,
    elapsedMs: elapsed(),
    url: url.display,
  };
}

/**
 * Whether one broker URL of a list is reachable and proves its identity: TCP, and for TLS a handshake verified as
 * a connection would be, with no MQTT sent (a CONNECT with the client's own id would take its session over from
 * the node it is connected to). `undefined` when it is, else the diagnosis. The client's node health check.
 *
 * @example
 * ```ts
 * const loaded = await loadConfig({ broker: { url: ["mqtts://10.0.0.5:8883", "mqtts://10.0.0.6:8883"] }, security: { trustStore: ["ca.pem"] } });
 * const down = await checkNode(loaded.resolved!, loaded.resolved!.urls[1]!, 3000);
 * if (down) console.log(down.code, down.message);
 * ```
 */
export async function checkNode(
  resolved: ResolvedConfig,
  url: BrokerUrl,
  timeoutMs: number,
): Promise<Finding | undefined> {
  const outcome = await attempt(resolved, url, timeoutMs, true);
  return outcome.connected ? undefined : diagnose(outcome.failure!, resolved, url);
}

/** The broker grants less than QoS 2: said once, as information, since nothing asked for QoS 2 yet. */
function qosDowngraded(maxQos: 0 | 1, kind: string | undefined): Finding {
  return createFinding(
    "QOS_DOWNGRADED",
    "info",
    `The broker grants at most QoS ${maxQos} (asked for QoS 2${kind === "rabbitmq" ? ", as RabbitMQ 3.x does" : ""}): QoS 2 messages are delivered ${maxQos === 1 ? "at least once, so a receiver may see one twice" : "at most once, so one may be lost"}.`,
    {
      remedy:
        maxQos === 1
          ? "Use QoS 1 and make receivers tolerate duplicates (a sequence number or an idempotent write), or use a broker that grants QoS 2."
          : "Check the broker's maximum QoS setting and ACL; use a broker that grants QoS 1 or 2 for messages that must arrive.",
    },
  );
}
