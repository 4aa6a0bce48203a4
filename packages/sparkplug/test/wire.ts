// What the conformance tests observe: messages as Mosquitto delivers them (MQTT 5, retain-as-published, QoS 1
// subscriptions so a message's own QoS shows), and the packets a client writes on its socket.
import {
  createTestPki,
  mosquittoSkipReason,
  startMosquitto,
  type MosquittoBroker,
  type TestLeaf,
  type TestPki,
} from "@proj/test-broker";
import mqtt, { type MqttClient, type Packet } from "mqtt";
import type { SecureClient } from "@proj/mqtt-tls";
import { decodePayload, type Payload } from "../src/payload.js";
import { parseTopic, type SparkplugTopic } from "../src/topics.js";

export const skipMosquitto = mosquittoSkipReason();

export interface Seen {
  readonly topic: string;
  readonly parsed: SparkplugTopic | undefined;
  readonly qos: number;
  readonly retain: boolean;
  readonly bytes: Buffer;
  readonly at: number;
}

export interface Lab extends AsyncDisposable {
  readonly pki: TestPki;
  readonly broker: MosquittoBroker;
  readonly leaves: Map<string, TestLeaf>;
  /** A mutual-TLS configuration whose client certificate has CN `name`. */
  config(
    name: string,
    extra?: { protocolVersion?: 4 | 5; sparkplug?: Record<string, unknown> },
  ): Promise<object>;
  observer(name?: string): Promise<Observer>;
}

/** A PKI and a Mosquitto with mutual TLS and the certificate's CN as user name. */
export async function startLab(
  options: { aclFile?: (lab: { pki: TestPki }) => Promise<string> } = {},
): Promise<Lab> {
  const pki = await createTestPki({ name: "sparkplug" });
  const acl = options.aclFile ? await options.aclFile({ pki }) : undefined;
  const broker = await startMosquitto({
    pki,
    requireCertificate: true,
    useIdentityAsUsername: true,
    ...(acl ? { extraListenerConfig: [`acl_file ${acl}`] } : {}),
  });
  const leaves = new Map<string, TestLeaf>();
  const leaf = async (name: string) => {
    let found = leaves.get(name);
    if (!found) {
      found = await pki.issueClient({ name });
      leaves.set(name, found);
    }
    return found;
  };
  const observers: Observer[] = [];
  return {
    pki,
    broker,
    leaves,
    config: async (name, extra = {}) => {
      const client = await leaf(name);
      return {
        broker: {
          url: broker.url,
          clientId: name,
          protocolVersion: extra.protocolVersion ?? 4,
          keepaliveSeconds: 5,
        },
        security: {
          trustStore: [pki.caFile],
          sendClientCertificate: true,
          keyStore: { certificate: client.files.chain, privateKey: client.files.key },
        },
        ...(extra.sparkplug ? { sparkplug: extra.sparkplug } : {}),
      };
    },
    observer: async (name = `observer-${observers.length}`) => {
      const o = await observe(broker.url, pki, await leaf(name), name);
      observers.push(o);
      return o;
    },
    async [Symbol.asyncDispose]() {
      for (const o of observers) await o.client.endAsync(true).catch(() => undefined);
      await broker.close();
      await pki.cleanup();
    },
  };
}

export interface Observer {
  readonly client: MqttClient;
  readonly seen: Seen[];
  /** Resolves with the first message (from `from` on) that matches; rejects after `timeoutMs`. */
  next(match: (m: Seen) => boolean, timeoutMs?: number, from?: number): Promise<Seen>;
  /** Messages seen so far on topics of `type` (and node). */
  of(type: string, node?: string): Seen[];
  publish(
    topic: string,
    payload: Buffer | Uint8Array | string,
    options?: { qos?: 0 | 1; retain?: boolean },
  ): Promise<void>;
  /** Resolves after `ms`: for asserting that nothing was published. */
  quiet(ms: number): Promise<void>;
}

async function observe(url: string, pki: TestPki, leaf: TestLeaf, clientId: string): Promise<Observer> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 5,
    clientId,
    ca: pki.caPem,
    cert: leaf.chain,
    key: leaf.key,
    rejectUnauthorized: true,
    reconnectPeriod: 0,
  });
  const seen: Seen[] = [];
  const waiters = new Set<() => void>();
  client.on("message", (topic, bytes, packet) => {
    seen.push({
      topic,
      parsed: parseTopic(topic),
      qos: packet.qos,
      retain: packet.retain,
      bytes,
      at: Date.now(),
    });
    for (const w of waiters) w();
  });
  await client.subscribeAsync("spBv1.0/#", { qos: 1, rap: true });
  return {
    client,
    seen,
    next: (match, timeoutMs = 8000, from = 0) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = seen.slice(from).find(match);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching message within ${timeoutMs} ms; seen: ${seen.map((m) => m.topic).join(", ")}`,
            ),
          );
        }, timeoutMs);
        if (!check()) waiters.add(check);
      }),
    of: (type, node) =>
      seen.filter(
        (m) =>
          m.parsed?.type === type && (node === undefined || ("node" in m.parsed && m.parsed.node === node)),
      ),
    publish: async (topic, payload, options = {}) => {
      await client.publishAsync(topic, Buffer.from(payload), {
        qos: options.qos ?? 0,
        retain: options.retain ?? false,
      });
    },
    quiet: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/** Decodes a seen message (births carry datatypes; DATA may need `datatypeOf`). */
export const payloadOf = (m: Seen, datatypeOf?: Parameters<typeof decodePayload>[1]): Payload =>
  decodePayload(m.bytes, datatypeOf);

/** Every packet a client writes from now on (the CONNECT of its next connection, SUBSCRIBE, PUBLISH, DISCONNECT). */
export function packetsOf(client: SecureClient): Packet[] {
  const packets: Packet[] = [];
  client.mqtt.on("packetsend", (packet) => packets.push(packet));
  return packets;
}
