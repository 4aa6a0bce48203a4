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
export { DEV_BROKER_ERROR_CODES, DevBrokerError, isDevBrokerError } from "./errors.js";
export type { DevBrokerErrorCode } from "./errors.js";
export { brokerEndpoints, createWaiters, urlHost } from "./endpoints.js";
export type { BrokerEndpoints } from "./endpoints.js";
