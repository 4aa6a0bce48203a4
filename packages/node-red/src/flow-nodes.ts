import { topicProblem } from "@proj/mqtt-tls";
import type { IClientPublishOptions, IPublishPacket, Packet } from "mqtt";
import { BROKER_CREDENTIALS, configFromBrokerNode, type BrokerCredentials } from "./broker-config.js";
import { BrokerConnection } from "./connection.js";
import { loadForNode } from "./doctor.js";
import type { FlowMessage, NodeDefinition, NodeRedApi, RedNode } from "./red.js";

/** The running mqtt-tls-broker config node: its connection is what the in and out nodes use. */
interface BrokerNode extends RedNode {
  connection?: BrokerConnection;
}

type Qos = 0 | 1 | 2;
const qosOf = (value: unknown, fallback: Qos = 0): Qos => {
  const n = Number(value);
  return n === 0 || n === 1 || n === 2 ? n : fallback;
};
const setting = (value: unknown): string => (typeof value === "string" ? value.trim() : "");

/** How an `mqtt-tls in` node hands a payload to the flow. */
type Datatype = "auto" | "utf8" | "buffer" | "json";

function payloadOf(payload: Buffer, datatype: Datatype): unknown {
  if (datatype === "buffer") return payload;
  const text = payload.toString("utf8");
  if (datatype === "utf8") return text;
  if (datatype === "json") return JSON.parse(text) as unknown;
  // auto: text when the bytes are valid UTF-8, the Buffer otherwise
  return Buffer.from(text, "utf8").equals(payload) ? text : payload;
}

function bytesOf(payload: unknown): Buffer | string {
  if (Buffer.isBuffer(payload) || typeof payload === "string") return payload;
  if (payload === null || payload === undefined) return "";
  if (typeof payload === "object") return JSON.stringify(payload);
  return String(payload);
}

/** MQTT 5 properties of a received message, where Node-RED's core mqtt in node puts them. */
function v5Properties(packet: Packet): FlowMessage {
  const props = (packet as IPublishPacket).properties;
  if (!props) return {};
  return {
    ...(props.userProperties ? { userProperties: props.userProperties } : {}),
    ...(props.contentType ? { contentType: props.contentType } : {}),
    ...(props.responseTopic ? { responseTopic: props.responseTopic } : {}),
    ...(props.correlationData ? { correlationData: props.correlationData } : {}),
    ...(props.messageExpiryInterval !== undefined
      ? { messageExpiryInterval: props.messageExpiryInterval }
      : {}),
  };
}

/** MQTT 5 properties of a message to publish, read from where the core mqtt out node reads them. */
function publishProperties(msg: FlowMessage): IClientPublishOptions["properties"] {
  const properties: NonNullable<IClientPublishOptions["properties"]> = {};
  if (msg.userProperties && typeof msg.userProperties === "object")
    properties.userProperties = msg.userProperties as Record<string, string>;
  if (typeof msg.contentType === "string") properties.contentType = msg.contentType;
  if (typeof msg.responseTopic === "string") properties.responseTopic = msg.responseTopic;
  if (Buffer.isBuffer(msg.correlationData)) properties.correlationData = msg.correlationData;
  else if (typeof msg.correlationData === "string")
    properties.correlationData = Buffer.from(msg.correlationData);
  if (typeof msg.messageExpiryInterval === "number")
    properties.messageExpiryInterval = msg.messageExpiryInterval;
  return Object.keys(properties).length > 0 ? properties : undefined;
}

function brokerOf(RED: NodeRedApi, node: RedNode, definition: NodeDefinition): BrokerConnection | undefined {
  const broker = RED.nodes.getNode<BrokerNode>(setting(definition.broker));
  if (broker?.connection) return broker.connection;
  node.status({ fill: "red", shape: "ring", text: "no mqtt-tls-broker chosen" });
  return undefined;
}

/**
 * Registers the three node types with Node-RED: the `mqtt-tls-broker` config node (its credentials are the
 * password, the key passphrase and the uploads), `mqtt-tls in` and `mqtt-tls out`.
 */
export function registerFlowNodes(RED: NodeRedApi): void {
  const baseDir = RED.settings.userDir ?? process.cwd();

  RED.nodes.registerType(
    "mqtt-tls-broker",
    function (this: BrokerNode, definition) {
      RED.nodes.createNode(this, definition);
      const credentials = (this.credentials ?? {}) as BrokerCredentials;
      const connection = new BrokerConnection(
        async () => {
          const built = configFromBrokerNode(definition.config, credentials);
          const { loaded, findings } = await loadForNode(built.config, baseDir);
          return { loaded, findings: [...built.findings, ...findings] };
        },
        { error: (m) => this.error(m), log: (m) => this.log(m) },
      );
      this.connection = connection;
      this.on("close", (_removed, done) => {
        void connection.close().then(done);
      });
    },
    { credentials: BROKER_CREDENTIALS },
  );

  RED.nodes.registerType("mqtt-tls in", function (this: RedNode, definition) {
    RED.nodes.createNode(this, definition);
    const connection = brokerOf(RED, this, definition);
    if (!connection) return;
    const filter = setting(definition.topic);
    const problem = topicProblem(filter, "filter");
    if (problem) {
      this.status({ fill: "red", shape: "ring", text: `topic: ${problem}` });
      this.error(`topic ${JSON.stringify(filter)}: ${problem}`);
      return;
    }
    const datatype = (
      ["utf8", "buffer", "json"].includes(setting(definition.datatype))
        ? setting(definition.datatype)
        : "auto"
    ) as Datatype;
    const handler = (topic: string, payload: Buffer, packet: Packet) => {
      const { qos, retain } = packet as IPublishPacket;
      let value: unknown;
      try {
        value = payloadOf(payload, datatype);
      } catch (error) {
        this.error(`a message on ${topic} is not JSON: ${(error as Error).message}`, { topic, payload });
        return;
      }
      this.send({ topic, payload: value, qos, retain, ...v5Properties(packet) });
    };
    connection.register(this);
    connection.subscribe(filter, { qos: qosOf(definition.qos) }, handler).catch((error: unknown) => {
      this.error(`subscribing to ${filter} failed: ${(error as Error).message}`);
    });
    this.on("close", (_removed, done) => {
      connection.deregister(this);
      void connection.unsubscribe(handler).then(done);
    });
  });

  RED.nodes.registerType("mqtt-tls out", function (this: RedNode, definition) {
    RED.nodes.createNode(this, definition);
    const connection = brokerOf(RED, this, definition);
    if (!connection) return;
    connection.register(this);
    this.on("input", (msg, _send, done) => {
      const topic = setting(definition.topic) || (typeof msg.topic === "string" ? msg.topic : "");
      const problem = topicProblem(topic, "name");
      if (problem) {
        done(new Error(`topic ${JSON.stringify(topic)}: ${problem}`));
        return;
      }
      const qos = setting(definition.qos) === "" ? qosOf(msg.qos) : qosOf(definition.qos);
      const retain =
        setting(definition.retain) === ""
          ? msg.retain === true || msg.retain === "true"
          : definition.retain === true || definition.retain === "true";
      const properties = publishProperties(msg);
      connection
        .publish(topic, bytesOf(msg.payload), { qos, retain, ...(properties ? { properties } : {}) })
        .then(() => done(), done);
    });
    this.on("close", (_removed, done) => {
      connection.deregister(this);
      done();
    });
  });
}
