import { once } from "node:events";
import { createConnection, createServer, type AddressInfo, type Socket } from "node:net";

/** What the proxy does to a connection. */
export type Fault =
  /** Forward both ways, untouched. */
  | { readonly kind: "pass" }
  /** Accept, then close at once (a cut cable, a firewall that drops after accept). */
  | { readonly kind: "cut" }
  /** Accept and read, but never forward or answer (a half-dead route): only a deadline ends it. */
  | { readonly kind: "stall" }
  /** Forward every chunk after `ms` (a slow link). */
  | { readonly kind: "delay"; readonly ms: number }
  /** Forward until `bytes` have gone `direction`, then reset the client side with a TCP RST. */
  | { readonly kind: "reset"; readonly bytes: number; readonly direction: "to-server" | "to-client" }
  /** Flip every bit of the byte at `offset` of the stream going `direction` (line noise, a broken middlebox). */
  | { readonly kind: "corrupt"; readonly offset: number; readonly direction: "to-server" | "to-client" };

export interface FaultProxyOptions {
  /** Where connections go. */
  readonly target: { readonly host: string; readonly port: number };
  /** Loopback address to listen on. @default "127.0.0.1" */
  readonly host?: "127.0.0.1" | "::1";
  /** Port to listen on. @default a free one */
  readonly port?: number;
}

/** A loopback TCP proxy that injects faults, from {@link startFaultProxy}. */
export interface FaultProxy extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** `scheme://host:port`, e.g. `mqtts://127.0.0.1:40123`. */
  url(scheme: string): string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /**
   * Applies `fault` to new connections: to the next `count` of them, then back to pass, or to all from now on.
   */
  inject(fault: Fault, count?: number): void;
  /** Points new connections at another target (e.g. a broker restarted on another port). */
  retarget(target: { host: string; port: number }): void;
  /** Closes every open connection now, both sides. */
  cutAll(): void;
  close(): Promise<void>;
}

/**
 * Starts a fault-injecting TCP proxy on loopback in front of a broker: cut, stall, delay, reset after N bytes
 * (mid-handshake), corrupt a byte. Each connection gets the fault in force when it was accepted.
 *
 * @example
 * ```ts
 * await using proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: broker.port } });
 * proxy.inject({ kind: "reset", bytes: 100, direction: "to-client" }, 2); // the next two handshakes die midway
 * ```
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  let target = options.target;
  const host = options.host ?? "127.0.0.1";
  let fault: Fault = { kind: "pass" };
  let remaining: number | undefined;
  let accepted = 0;
  const sockets = new Set<Socket>();

  const nextFault = (): Fault => {
    const current = fault;
    if (remaining !== undefined && --remaining <= 0) {
      fault = { kind: "pass" };
      remaining = undefined;
    }
    return current;
  };

  const server = createServer((client) => {
    accepted++;
    const applied = nextFault();
    sockets.add(client);
    client.once("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (applied.kind === "cut") {
      client.destroy();
      return;
    }
    if (applied.kind === "stall") {
      client.resume(); // read and drop: the peer's writes succeed, nothing ever comes back
      return;
    }
    const upstream = createConnection(target);
    sockets.add(upstream);
    upstream.once("close", () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => client.destroy());
    client.once("close", () => upstream.destroy());

    const pipe = (from: Socket, to: Socket, direction: "to-server" | "to-client") => {
      let passed = 0;
      from.on("data", (chunk: Buffer) => {
        let data = chunk;
        if (applied.kind === "corrupt" && applied.direction === direction) {
          const at = applied.offset - passed;
          if (at >= 0 && at < data.length) {
            data = Buffer.from(data);
            data[at] = data[at]! ^ 0xff;
          }
        }
        if (
          applied.kind === "reset" &&
          applied.direction === direction &&
          passed + data.length >= applied.bytes
        ) {
          const keep = data.subarray(0, Math.max(0, applied.bytes - passed));
          passed += data.length;
          if (keep.length > 0) to.write(keep);
          // A reset, not a clean close: the peer sees ECONNRESET.
          client.resetAndDestroy();
          upstream.destroy();
          return;
        }
        passed += data.length;
        if (applied.kind === "delay") {
          from.pause();
          setTimeout(() => {
            if (!to.destroyed) to.write(data);
            from.resume();
          }, applied.ms);
        } else if (!to.destroyed) to.write(data);
      });
    };
    pipe(client, upstream, "to-server");
    pipe(upstream, client, "to-client");
  });
  server.listen(options.port ?? 0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  const close = async () => {
    cutAll();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    host,
    port,
    url: (scheme) => `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return [...sockets].length;
    },
    inject(next, count) {
      fault = next;
      remaining = count;
    },
    retarget(next) {
      target = next;
    },
    cutAll,
    close,
    [Symbol.asyncDispose]: close,
  };
}
