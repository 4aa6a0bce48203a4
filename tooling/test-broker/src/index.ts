// The test PKI lives in @proj/pki; re-exported so a test needs one import for a broker and its certificates.
export { KEY_TYPES, createTestPki } from "@proj/pki";
export type {
  KeyExportOptions,
  KeyType,
  Pkcs12Options,
  SignatureHash,
  TestCertificate,
  TestCrl,
  TestCrlOptions,
  TestEku,
  TestLeaf,
  TestLeafOptions,
  TestPki,
  TestPkiOptions,
} from "@proj/pki";
// The broker is @proj/dev-broker; tests know it by these names.
export { startDevBroker as startTestBroker } from "@proj/dev-broker";
export type {
  BrokerPki,
  ConnectedClient,
  DevBroker as TestBroker,
  DevBrokerOptions as TestBrokerOptions,
  DevListener as TestListener,
  HandshakeFailure,
} from "@proj/dev-broker";
export {
  findMosquitto,
  mosquittoSkipReason,
  startMosquitto,
  MosquittoError,
} from "./mosquitto/start-mosquitto.js";
export type { MosquittoBroker, MosquittoOptions } from "./mosquitto/start-mosquitto.js";
export type { BrokerEndpoints } from "@proj/dev-broker";
export { probeMqtt } from "./probe.js";
export type { ProbeOptions, ProbeResult } from "./probe.js";
export { startFaultProxy } from "./proxy/fault-proxy.js";
export type { Fault, FaultProxy, FaultProxyOptions } from "./proxy/fault-proxy.js";
export { mutualTlsTargets } from "./targets.js";
export type { MutualTlsTarget } from "./targets.js";
export { findPostgres, postgresSkipReason, startPostgres } from "./postgres/start-postgres.js";
export type { PostgresServer } from "./postgres/start-postgres.js";
export { freePort, killOnExit, stop as stopProcess } from "./process.js";
export { findRedis, redisSkipReason, startRedis } from "./redis/start-redis.js";
export type { RedisServer } from "./redis/start-redis.js";
export { startClusterNode } from "./cluster/start-cluster-node.js";
export { findRabbitMq, rabbitMqSkipReason, startRabbitMq } from "./rabbitmq/start-rabbitmq.js";
export type { RabbitMq, RabbitMqNode, RabbitMqOptions } from "./rabbitmq/start-rabbitmq.js";
export type { ClusterNode, ClusterNodeOptions } from "./cluster/start-cluster-node.js";
