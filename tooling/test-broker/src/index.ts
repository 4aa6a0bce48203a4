export { createTestPki } from "./pki/test-pki.js";
export type {
  KeyExportOptions,
  TestCertificate,
  TestCrl,
  TestCrlOptions,
  TestEku,
  TestLeaf,
  TestLeafOptions,
  TestPki,
  TestPkiOptions,
} from "./pki/test-pki.js";
export { KEY_TYPES } from "./pki/keys.js";
export type { KeyType, SignatureHash } from "./pki/keys.js";
export type { Pkcs12Options } from "./pki/pkcs12.js";
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
