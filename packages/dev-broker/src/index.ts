export { startDevBroker } from "./start-dev-broker.js";
export type {
  BrokerPki,
  ConnectedClient,
  DevBroker,
  DevBrokerOptions,
  DevListener,
  HandshakeFailure,
  ServedCertificate,
} from "./start-dev-broker.js";
export { brokerEndpoints, createWaiters, urlHost } from "./endpoints.js";
export type { BrokerEndpoints } from "./endpoints.js";
