import type { AedesOptions } from "aedes";
// @ts-expect-error aedes-persistence-redis ships no types: what is used of it is typed below.
import asyncRedisPersistence from "aedes-persistence-redis/asyncPersistence.js";
import { Redis } from "ioredis";
import mqemitterRedis from "mqemitter-redis";
import { Readable } from "node:stream";
import { DevBrokerError } from "./errors.js";

/** aedes-persistence-redis's promise-based class (its default export wraps it in callbacks aedes 1.2 no longer uses). */
const AsyncRedisPersistence = asyncRedisPersistence as new (options: { conn: Redis }) => object;

/** How long a node waits for Redis when it starts, before it gives up with `CLUSTER_UNREACHABLE`. */
const REDIS_START_TIMEOUT_MS = 5000;

/** The persistence and message bus of one cluster node: aedes's options, and how to let go of them. */
export interface ClusterBackends {
  readonly persistence: NonNullable<AedesOptions["persistence"]>;
  readonly mq: NonNullable<AedesOptions["mq"]>;
  /** Closes the persistence's Redis connection (aedes closes the message bus itself). */
  close(): Promise<void>;
}

/**
 * Reads a cluster's Redis URL (`redis://HOST:PORT[/DB]`, `rediss://` for Redis over TLS).
 *
 * @throws {DevBrokerError} `CLUSTER_URL_INVALID` for anything else.
 */
function parseRedisUrl(url: string): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") || !parsed.hostname)
    throw new DevBrokerError("CLUSTER_URL_INVALID", `"${withoutPassword(url)}" is not a Redis URL`, {
      remedy: "Give the cluster's Redis as redis://HOST:PORT (for example redis://127.0.0.1:6379).",
    });
  return parsed;
}

/** A cluster address as given, without what a password may be in it: for messages and the broker's fields. */
export function withoutPassword(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//");
}

/** The URL without its password, for messages. */
function shown(url: URL): string {
  return `${url.protocol}//${url.hostname.includes(":") ? `[${url.hostname}]` : url.hostname}:${url.port || 6379}${url.pathname.length > 1 ? url.pathname : ""}`;
}

function redisClient(url: URL, onError: (error: Error) => void): Redis {
  const client = new Redis(url.href, { lazyConnect: true, connectTimeout: REDIS_START_TIMEOUT_MS });
  client.on("error", onError);
  return client;
}

/**
 * aedes 1.2 and aedes-persistence-redis 11 disagree on two points, both bridged here: aedes pipes the retained
 * and outgoing streams (the persistence returns async iterables), and aedes stores a SUBSCRIBE of several topics
 * once per topic with the whole list, which makes the persistence wait forever for all but one of them (it
 * matches its cluster-wide confirmation by client and first topic): identical calls in flight share one.
 */
function bridge(persistence: object): NonNullable<AedesOptions["persistence"]> {
  const inFlight = new Map<string, Promise<unknown>>();
  const streams = new Set([
    "createRetainedStream",
    "createRetainedStreamCombi",
    "outgoingStream",
    "streamWill",
    "getClientList",
  ]);
  return new Proxy(persistence, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      const method = value as (...args: unknown[]) => unknown;
      if (typeof key === "string" && streams.has(key))
        return (...args: unknown[]) => Readable.from(method.apply(target, args) as AsyncIterable<unknown>);
      if (key === "addSubscriptions")
        return (client: { id: string }, subs: unknown) => {
          const id = `${client.id}\n${JSON.stringify(subs)}`;
          let pending = inFlight.get(id);
          if (!pending) {
            pending = (method.call(target, client, subs) as Promise<unknown>).finally(() =>
              inFlight.delete(id),
            );
            inFlight.set(id, pending);
          }
          return pending;
        };
      return method.bind(target);
    },
  });
}

/**
 * Connects one dev-broker node to its cluster's Redis: aedes-persistence-redis for sessions, subscriptions,
 * retained messages and Wills, mqemitter-redis for the messages between nodes. Redis must answer within 5 s;
 * afterwards a lost Redis is retried by its client, and each error goes to `onError` (never thrown).
 *
 * @throws {DevBrokerError} `CLUSTER_URL_INVALID`, or `CLUSTER_UNREACHABLE` when Redis does not answer.
 */
export async function connectCluster(
  redisUrl: string,
  onError: (error: Error) => void,
): Promise<ClusterBackends> {
  const url = parseRedisUrl(redisUrl);
  // Until the start succeeded, errors are the start's (the first one says why); afterwards they go to onError.
  let started = false;
  let firstError: Error | undefined;
  const clients = [0, 1, 2].map(() =>
    redisClient(url, (error) => {
      if (started) onError(error);
      else firstError ??= error;
    }),
  );
  const [db, sub, pub] = clients as [Redis, Redis, Redis];
  let timer: NodeJS.Timeout | undefined;
  const connecting = (async () => {
    await Promise.all(clients.map((client) => client.connect()));
    await db.ping();
  })();
  // When the deadline wins, the connections are dropped and this rejects later: nobody waits for it then.
  connecting.catch(() => undefined);
  try {
    // A port that accepts TCP and never answers must not hold the start: one deadline for connect and PING.
    await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${REDIS_START_TIMEOUT_MS / 1000} s`)),
          REDIS_START_TIMEOUT_MS,
        );
      }),
    ]);
    started = true;
    clearTimeout(timer);
  } catch (failure) {
    clearTimeout(timer);
    const error = firstError ?? (failure as Error);
    for (const client of clients) client.disconnect();
    throw new DevBrokerError(
      "CLUSTER_UNREACHABLE",
      `the cluster's Redis at ${shown(url)} did not answer: ${error.message}`,
      {
        remedy: `Start Redis there (redis-server --port ${url.port || 6379} --bind ${url.hostname}), or give the URL of the cluster's Redis.`,
        cause: error,
      },
    );
  }
  const mq = mqemitterRedis({ subConn: sub, pubConn: pub });
  // mqemitter-redis re-emits connection errors on `state`: unheard, an EventEmitter error ends the process.
  (mq as unknown as { state: NodeJS.EventEmitter }).state.on("error", onError);
  const persistence = new AsyncRedisPersistence({ conn: db });
  return {
    persistence: bridge(persistence),
    mq: mq,
    // The persistence's own destroy() unsubscribes through the message bus, which aedes has closed by then.
    // QUIT lets the commands of clients that closed with the broker finish first, for a second at most (a Redis
    // that is gone never answers); then every connection is dropped, the message bus's too.
    close: async () => {
      let wait: NodeJS.Timeout | undefined;
      await Promise.race([
        db.quit().catch(() => undefined),
        new Promise((resolve) => (wait = setTimeout(resolve, 1000))),
      ]);
      clearTimeout(wait);
      for (const client of clients) client.disconnect();
    },
  };
}

/** What aedes's per-client duplicate check reads: nothing, so that it never drops a message. */
const NOTHING_SEEN: Record<string, number> = new Proxy(Object.create(null) as Record<string, number>, {
  get: () => 0,
  set: () => true,
});

/**
 * Turns off aedes's duplicate check for one client of a cluster node. aedes drops a message whose publishing
 * node's counter is not above the last one it delivered from that node, which assumes messages arrive in counter
 * order; in a cluster a node's messages reach Redis out of that order (each waits on its own Redis round trips
 * first, longer when a persistent session is offline there), and the check then drops QoS 1 messages a node has
 * already acknowledged: 70 of 12,000 in the failover bench. Without it a client may get a message twice (QoS 1
 * allows it; a client with overlapping subscriptions gets one copy per subscription, at QoS 0 too, as MQTT 3.1.1
 * permits); it never misses one.
 */
export function deliverEveryMessage(client: object): void {
  (client as { duplicates: Record<string, number> }).duplicates = NOTHING_SEEN;
}
