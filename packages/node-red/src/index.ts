import { registerDoctorEndpoint } from "./doctor-endpoint.js";
import { registerFlowNodes } from "./flow-nodes.js";
import type { NodeRedApi } from "./red.js";

/**
 * The Node-RED node module: registers `mqtt-tls-broker`, `mqtt-tls in`, `mqtt-tls out` and the doctor endpoint.
 * Node-RED calls it with its `RED` object when it loads the package (the `node-red` section of package.json).
 *
 * @example
 * ```ts
 * // nodes/mqtt-tls.cjs, the file the package's "node-red" section names, hands this function to Node-RED:
 * const nodeSet: (RED: NodeRedApi) => void = mqttTlsNodes;
 * ```
 */
export function mqttTlsNodes(RED: NodeRedApi): void {
  registerFlowNodes(RED);
  registerDoctorEndpoint(RED);
}

export { BROKER_CREDENTIALS, UPLOAD_PREFIX, configFromBrokerNode } from "./broker-config.js";
export type { BrokerCredentials, BuiltConfig } from "./broker-config.js";
export { readCoreBroker } from "./core-nodes.js";
export type { CoreBrokerCredentials, CoreTlsCredentials } from "./core-nodes.js";
export { diagnoseBroker } from "./doctor.js";
export type { DiagnoseOptions, DoctorTarget } from "./doctor.js";
export { DEVICES_PATH, DOCTOR_PATH, DOCTOR_PERMISSION, registerDoctorEndpoint } from "./doctor-endpoint.js";
export { readUpload } from "./uploads.js";
export type { UploadContents, UploadSlot } from "./uploads.js";
export { statusOf } from "./status.js";
export { topicMatches } from "./topic-filter.js";
export type {
  AdminRequest,
  AdminResponse,
  DoctorAnswer,
  FlowMessage,
  NodeDefinition,
  NodeRedApi,
  NodeStatus,
  RedNode,
  RequestHandler,
} from "./red.js";
