import { Aedes, type AedesOptions, type Client } from "aedes";
import { once } from "node:events";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createServer as createTlsServer, type SecureVersion, type TLSSocket } from "node:tls";
import { WebSocketServer, createWebSocketStream } from "ws";
import { brokerEndpoints, createWaiters, urlHost, type BrokerEndpoints } from "./endpoints.js";
import { DevBrokerError } from "./errors.js";
import { answerRefused } from "./refusal.js";
import { connectCluster, deliverEveryMessage, withoutPassword } from "./cluster.js";
import { createTestPki, type TestPki } from "@proj/pki";

/** A certificate the broker presents: the chain (leaf first) and its private key, PEM. */
export interface ServedCertificate {
  readonly chain: string;
  readonly key: string;
}

/** Which listener a client came in on. */
export type DevListener = "tls" | "plain" | "wss";

/** What the broker needs of a PKI: its server certificate and the CAs it trusts for client certificates. */
export interface BrokerPki {
  readonly server: ServedCertificate;
  readonly root: { readonly cert: string };
  readonly intermediate: { readonly cert: string } | undefined;
}

/** Options for {@link startDevBroker}. */
export interface DevBrokerOptions {
  /**
   * The PKI whose server certificate the broker presents and whose CA it trusts for client certificates.
   * @default a throwaway PKI made for this broker (`broker.testPki`), removed when the broker closes
   */
  pki?: BrokerPki;
  /** Called for each client that completed CONNECT, with its certificate identity. */
  onClient?: (client: ConnectedClient) => void;
  /** Called for each refused TLS client (handshake error, or a client certificate that did not verify). */
  onRefusal?: (failure: HandshakeFailure) => void;
  /** Called for each CONNECT refused after the handshake (credentials, or a clientId that is not the CN). */
  onConnectRefusal?: (refusal: { readonly clientId: string; readonly reason: string }) => void;
  /** Present this certificate instead of `pki.server` (expired, wrong name, other CA...). */
  serverCertificate?: ServedCertificate;
  /** CA certificates (PEM) trusted for client certificates. @default the PKI's root (and intermediate) */
  clientCa?: string[];
  /** Ask for a client certificate and refuse the handshake without a valid one. @default false */
  requireClientCert?: boolean;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  /** OpenSSL cipher list (TLS 1.2 and below). */
  ciphers?: string;
  /** TLS 1.3 cipher suites, colon-separated. */
  ciphersuites?: string;
  /**
   * CRLs checked against client certificates, PEM (a file may hold several). Node checks every certificate of the
   * chain, so with an intermediate CA give a CRL of each CA (a lab CA's `crl.pem` holds both).
   */
  crl?: { readonly pem: string } | readonly { readonly pem: string }[];
  /** Refuse (CONNACK "not authorized") a client whose clientId is not its certificate's CN. @default false */
  bindClientIdToCn?: boolean;
  /** Accept only these username/password pairs (on any listener). @default anything */
  users?: Readonly<Record<string, string>>;
  /** Also listen for plain MQTT over TCP. @default false */
  plain?: boolean;
  /** Also listen for MQTT over secure WebSocket (same TLS settings). @default false */
  wss?: boolean;
  /** Loopback address to bind. @default "127.0.0.1" */
  host?: "127.0.0.1" | "::1";
  /** TLS port (to start a broker again where clients expect it). @default a free port */
  port?: number;
  /**
   * A TLS handshake not done by then is dropped (and reported as a refusal), so idle or stalled sockets do not
   * pile up. @default 10000
   */
  handshakeTimeoutMs?: number;
  /** Connections open at once, on each listener; beyond it new ones are closed at once. @default 1000 */
  maxConnections?: number;
  /**
   * Run as one node of a cluster: nodes started with the same Redis share persistent sessions (and the messages
   * queued for them), subscriptions, retained messages and Wills, so a client may come back through any node.
   * @default a standalone broker, state in memory
   */
  cluster?: { readonly redis: string };
  /** Called for each error of the cluster's Redis connections after the start (they are retried). */
  onClusterError?: (error: Error) => void;
  /** Passed to aedes. */
  aedes?: Omit<AedesOptions, "authenticate" | "preConnect" | "persistence" | "mq">;
}

/**
 * A refused TLS client: a `tlsClientError` (protocol, version, cipher), or a client certificate that was missing
 * or did not verify (then `code` is Node's verify code, e.g. `CERT_HAS_EXPIRED`, `CERT_REVOKED`,
 * `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, or `NO_CLIENT_CERTIFICATE`).
 */
export interface HandshakeFailure {
  readonly code: string | undefined;
  readonly message: string;
  readonly listener: DevListener;
  readonly at: Date;
}

/** A client that completed CONNECT. */
export interface ConnectedClient {
  readonly clientId: string;
  readonly listener: DevListener;
  readonly username: string | undefined;
  /** The verified client certificate, when one was presented. */
  readonly certificate:
    | { readonly subjectCn: string | undefined; readonly fingerprint256: string; readonly serial: string }
    | undefined;
  readonly tlsVersion: string | undefined;
  readonly cipher: string | undefined;
  readonly at: Date;
}

/** A running dev broker; close it with `close()` or `await using`. */
export interface DevBroker extends BrokerEndpoints, AsyncDisposable {
  /** `wss://HOST:PORT/mqtt` when `wss` was asked for. */
  readonly wssUrl: string | undefined;
  readonly wssPort: number | undefined;
  /** Every failed TLS handshake, oldest first. */
  readonly handshakeFailures: readonly HandshakeFailure[];
  /** Every accepted CONNECT, oldest first. */
  readonly connections: readonly ConnectedClient[];
  /** CONNECTs refused by the broker (bad credentials, clientId not bound to the certificate). */
  readonly refusedConnects: readonly { readonly clientId: string; readonly reason: string }[];
  readonly aedes: Aedes;
  /** In cluster mode: the Redis it shares with the other nodes (without a password), and this node's id. */
  readonly cluster: { readonly redis: string; readonly nodeId: string } | undefined;
  /** What the broker presents and trusts. */
  readonly pki: BrokerPki;
  /** The PKI the broker made for itself when none was given (its `client` leaf connects), else undefined. */
  readonly testPki: TestPki | undefined;
  /** Resolves once `count` handshake failures were recorded; rejects after `timeoutMs`. */
  waitForHandshakeFailures(count?: number, timeoutMs?: number): Promise<readonly HandshakeFailure[]>;
  /** Resolves with the connection of `clientId` once it connected; rejects after `timeoutMs`. */
  waitForClient(clientId: string, timeoutMs?: number): Promise<ConnectedClient>;
  close(): Promise<void>;
}

class ConnectRefusal extends Error {
  readonly returnCode: number;
  constructor(message: string, returnCode: number) {
    super(message);
    this.name = "ConnectRefusal";
    this.returnCode = returnCode;
  }
}

const CRL_BLOCK = /-----BEGIN X509 CRL-----[^-]+-----END X509 CRL-----/g;

/** How many connections, refusals and handshake failures a broker remembers (a long-running one, a scan). */
const REMEMBERED = 10_000;

/** Appends to a record, forgetting the oldest entry beyond {@link REMEMBERED}. */
function keep<T>(list: T[], entry: T): void {
  list.push(entry);
  if (list.length > REMEMBERED) list.shift();
}

async function listen(server: Server, host: string, port = 0): Promise<number> {
  server.listen(port, host);
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

/**
 * Starts an aedes broker over TLS on loopback (port 0), with optional mutual TLS, CRLs, clientId-to-CN binding and
 * extra plain-TCP and WebSocket listeners. It records handshake failures and connected identities for assertions
 * and survives a fast QoS 0 publisher over TLS (aedes alone overflows its stack there).
 *
 * @example
 * ```ts
 * await using broker = await startDevBroker({ requireClientCert: true });
 * const { caPem, client } = broker.testPki!;
 * const mqttClient = await mqtt.connectAsync(broker.url, { ca: caPem, cert: client.chain, key: client.key });
 * ```
 * @throws if a listener cannot bind.
 */
export async function startDevBroker(options: DevBrokerOptions = {}): Promise<DevBroker> {
  const host = options.host ?? "127.0.0.1";
  const testPki = options.pki ? undefined : await createTestPki({ name: "dev-broker" });
  const pki: BrokerPki = options.pki ?? testPki!;
  const served = options.serverCertificate ?? pki.server;
  const clientCa = options.clientCa ?? [pki.root.cert, ...(pki.intermediate ? [pki.intermediate.cert] : [])];
  const crls = options.crl === undefined ? [] : "pem" in options.crl ? [options.crl] : options.crl;
  const requireClientCert = options.requireClientCert ?? false;

  const handshakeFailures: HandshakeFailure[] = [];
  const connections: ConnectedClient[] = [];
  const refusedConnects: { clientId: string; reason: string }[] = [];
  const refuseConnect = (refusal: { clientId: string; reason: string }): void => {
    keep(refusedConnects, refusal);
    options.onConnectRefusal?.(refusal);
  };
  const tlsOf = new WeakMap<object, TLSSocket>();
  const listenerOf = new WeakMap<object, DevListener>();
  const sockets = new Set<Socket>();
  const { notify, waitFor } = createWaiters();
  const noteFailure = (failure: HandshakeFailure): void => {
    keep(handshakeFailures, failure);
    options.onRefusal?.(failure);
  };

  const tlsOptions = {
    cert: served.chain,
    key: served.key,
    ca: clientCa,
    requestCert: requireClientCert,
    // Verification is enforced in refuseUnverified(): Node's own rejectUnauthorized destroys the socket after the
    // handshake without a word, and the broker must tell the client why it was refused.
    rejectUnauthorized: false,
    ...(options.minVersion ? { minVersion: options.minVersion } : {}),
    ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
    ...(options.ciphers ? { ciphers: options.ciphers } : {}),
    ...(options.ciphersuites ? { ciphersuites: options.ciphersuites } : {}),
    // Node reads one CRL per entry: a file holding several (a lab CA's crl.pem holds the root's too) is split.
    ...(crls.length > 0 ? { crl: crls.flatMap((c) => c.pem.match(CRL_BLOCK) ?? [c.pem]) } : {}),
    handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
  };

  const peerIdentity = (client: Client): { socket: TLSSocket | undefined; cn: string | undefined } => {
    const socket = tlsOf.get(client.conn);
    const cert = socket?.getPeerCertificate();
    const cn =
      cert && "subject" in cert && cert.subject ? (cert.subject.CN as string | undefined) : undefined;
    return { socket, cn };
  };

  const usernames = new WeakMap<Client, string>();
  // Connected (and checked) before anything listens: a node without its Redis does not start.
  const backends = options.cluster
    ? await connectCluster(options.cluster.redis, options.onClusterError ?? (() => undefined)).catch(
        async (error: unknown) => {
          await testPki?.cleanup();
          throw error;
        },
      )
    : undefined;
  const broker = await Aedes.createBroker({
    ...options.aedes,
    ...(backends ? { persistence: backends.persistence, mq: backends.mq } : {}),
    authenticate: (client, username, password, done) => {
      if (backends) deliverEveryMessage(client);
      if (username !== undefined) usernames.set(client, username);
      if (options.users) {
        const expected = username === undefined ? undefined : options.users[username];
        if (expected === undefined || password?.toString("utf8") !== expected) {
          refuseConnect({ clientId: client.id, reason: "bad username or password" });
          done(new ConnectRefusal("bad username or password", 4), false);
          return;
        }
      }
      if (options.bindClientIdToCn) {
        const { cn } = peerIdentity(client);
        if (cn === undefined || cn !== client.id) {
          const reason =
            cn === undefined ? "no client certificate" : `clientId is not the certificate CN "${cn}"`;
          refuseConnect({ clientId: client.id, reason });
          done(new ConnectRefusal(reason, 5), false);
          return;
        }
      }
      done(null, true);
    },
  });

  // Says what it is, retained, where Mosquitto does: `mqtt-tls doctor` reports the broker kind from it.
  await new Promise<void>((resolve) =>
    broker.publish(
      {
        cmd: "publish",
        topic: "$SYS/broker/version",
        payload: Buffer.from(
          `aedes version ${(broker as unknown as { version: string }).version} (@proj/dev-broker)`,
        ),
        qos: 0,
        retain: true,
        dup: false,
      },
      () => resolve(),
    ),
  );

  broker.on("client", (client) => {
    const { socket } = peerIdentity(client);
    const cert = socket?.getPeerCertificate();
    const hasCert = cert !== undefined && "fingerprint256" in cert && Boolean(cert.fingerprint256);
    keep(connections, {
      clientId: client.id,
      listener: listenerOf.get(client.conn) ?? "tls",
      username: usernames.get(client),
      certificate: hasCert
        ? {
            subjectCn: cert.subject?.CN as string | undefined,
            fingerprint256: cert.fingerprint256,
            serial: cert.serialNumber,
          }
        : undefined,
      tlsVersion: socket?.getProtocol() ?? undefined,
      cipher: socket?.getCipher()?.name,
      at: new Date(),
    });
    options.onClient?.(connections.at(-1)!);
    notify();
  });

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const recordFailure = (listener: DevListener) => (error: NodeJS.ErrnoException, socket: Socket) => {
    noteFailure({ code: error.code, message: error.message, listener, at: new Date() });
    socket.destroy();
    notify();
  };
  /**
   * Refuses a TLS socket whose client certificate is missing or did not verify, and returns why (undefined when it
   * passed). The reason reaches the client: see answerRefused and the upgrade check below.
   */
  const refuseUnverified = (socket: TLSSocket, listener: DevListener): string | undefined => {
    if (!requireClientCert || socket.authorized) return undefined;
    const presented = Object.keys(socket.getPeerCertificate()).length > 0;
    const code = presented ? String(socket.authorizationError) : "NO_CLIENT_CERTIFICATE";
    const message = presented ? `client certificate refused: ${code}` : "client sent no certificate";
    noteFailure({ code, message, listener, at: new Date() });
    notify();
    // TLS listener: the client's CONNECT is answered "not authorized" with the reason. WebSocket: the upgrade is
    // refused with 403 and the reason.
    if (listener === "tls") answerRefused(socket, message, tlsOptions.handshakeTimeout);
    return message;
  };
  const handle = (stream: Duplex, listener: DevListener, tls?: TLSSocket): void => {
    listenerOf.set(stream, listener);
    if (tls) tlsOf.set(stream, tls);
    broker.handle(stream);
  };

  const tlsServer = createTlsServer(tlsOptions, (socket) => {
    if (refuseUnverified(socket, "tls") === undefined) handle(socket, "tls", socket);
  });
  tlsServer.on("connection", track);
  tlsServer.on("tlsClientError", recordFailure("tls"));
  tlsServer.maxConnections = options.maxConnections ?? 1000;
  const servers: Server[] = [tlsServer];
  let wss: WebSocketServer | undefined;
  let closed: Promise<void> | undefined;
  async function close(): Promise<void> {
    closed ??= (async () => {
      const stopped = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
      wss?.close();
      for (const socket of sockets) socket.destroy();
      // A cluster node whose Redis is gone would wait for ever on aedes's close: a few seconds, then its
      // connections are dropped.
      let wait: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => broker.close(() => resolve())),
        ...(backends ? [new Promise<void>((resolve) => (wait = setTimeout(resolve, 3000)))] : []),
      ]);
      clearTimeout(wait);
      await backends?.close();
      await Promise.all(stopped);
      await testPki?.cleanup();
    })();
    return closed;
  }
  // A port that cannot be opened (in use, not allowed) rejects, and leaves no broker or timer running.
  const listening = async (server: Server, port?: number) =>
    listen(server, host, port).catch(async (error: unknown) => {
      await close();
      throw error;
    });
  const port = await listening(tlsServer, options.port);

  let plainPort: number | undefined;
  if (options.plain) {
    const plainServer = createNetServer((socket) => handle(socket, "plain"));
    plainServer.maxConnections = tlsServer.maxConnections;
    plainServer.on("connection", track);
    servers.push(plainServer);
    plainPort = await listening(plainServer);
  }

  let wssPort: number | undefined;
  if (options.wss) {
    const httpsServer = createHttpsServer(tlsOptions);
    httpsServer.maxConnections = tlsServer.maxConnections;
    httpsServer.on("connection", track);
    httpsServer.on("tlsClientError", recordFailure("wss"));
    // Refused certificates are answered at the upgrade: HTTP 403 with the reason, never a bare close.
    const refusals = new WeakMap<object, string>();
    httpsServer.on("secureConnection", (socket: TLSSocket) => {
      const reason = refuseUnverified(socket, "wss");
      if (reason !== undefined) refusals.set(socket, reason);
    });
    wss = new WebSocketServer({
      server: httpsServer,
      verifyClient: ({ req }, done) => {
        const reason = refusals.get(req.socket);
        if (reason === undefined) done(true);
        else done(false, 403, reason);
      },
    });
    wss.on("connection", (ws, request) => {
      handle(createWebSocketStream(ws), "wss", request.socket as TLSSocket);
    });
    servers.push(httpsServer);
    wssPort = await listening(httpsServer);
  }

  const endpoints = brokerEndpoints(host, port, plainPort);
  return {
    ...endpoints,
    wssUrl: wssPort === undefined ? undefined : `wss://${urlHost(host)}:${wssPort}/mqtt`,
    wssPort,
    handshakeFailures,
    connections,
    refusedConnects,
    aedes: broker,
    cluster: options.cluster
      ? { redis: withoutPassword(options.cluster.redis), nodeId: broker.id }
      : undefined,
    pki,
    testPki,
    waitForHandshakeFailures: (count = 1, timeoutMs = 5000) =>
      waitFor(
        () => (handshakeFailures.length >= count ? handshakeFailures : undefined),
        timeoutMs,
        () =>
          new DevBrokerError(
            "WAIT_TIMEOUT",
            `timed out after ${timeoutMs} ms waiting for ${count} handshake failure(s)`,
          ),
      ),
    waitForClient: (clientId, timeoutMs = 5000) =>
      waitFor(
        () => connections.find((c) => c.clientId === clientId),
        timeoutMs,
        () =>
          new DevBrokerError(
            "WAIT_TIMEOUT",
            `timed out after ${timeoutMs} ms waiting for client "${clientId}"`,
            {
              remedy: "Check the client's own diagnosis: it may have been refused (see handshakeFailures).",
            },
          ),
      ),
    close,
    [Symbol.asyncDispose]: close,
  };
}
