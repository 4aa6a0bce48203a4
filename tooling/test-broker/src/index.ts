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
export { startTestBroker } from "./broker/start-test-broker.js";
export type {
  BrokerPki,
  ConnectedClient,
  HandshakeFailure,
  TestBroker,
  TestBrokerOptions,
  TestListener,
} from "./broker/start-test-broker.js";
export {
  findMosquitto,
  mosquittoSkipReason,
  startMosquitto,
  MosquittoError,
} from "./mosquitto/start-mosquitto.js";
export type { MosquittoBroker, MosquittoOptions } from "./mosquitto/start-mosquitto.js";
export type { BrokerEndpoints } from "./endpoints.js";
export { probeMqtt } from "./probe.js";
export type { ProbeOptions, ProbeResult } from "./probe.js";
export { startFaultProxy } from "./proxy/fault-proxy.js";
export type { Fault, FaultProxy, FaultProxyOptions } from "./proxy/fault-proxy.js";
export { mutualTlsTargets } from "./targets.js";
export type { MutualTlsTarget } from "./targets.js";
