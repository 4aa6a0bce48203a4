export { SPARKPLUG_ERROR_CODES, SparkplugError, isSparkplugError } from "./errors.js";
export type { SparkplugErrorCode } from "./errors.js";
export { dataTypeName, dataTypeNumber, isWideType } from "./data-types.js";
export type { DataTypeName } from "./data-types.js";
export { decodeArray, encodeArray, isArrayType } from "./arrays.js";
export type { ArrayTypeName, ArrayValue } from "./arrays.js";
export { decodePayload, encodePayload, readSeq, valueProblem } from "./payload.js";
export type {
  CodecOptions,
  DataSet,
  MetaData,
  Metric,
  MetricValue,
  Payload,
  PropertySet,
  PropertyValue,
  ScalarValue,
  Template,
  TemplateParameter,
} from "./payload.js";
export { NAMESPACE, assertSparkplugId, formatTopic, parseTopic } from "./topics.js";
export type { MessageType, SparkplugTopic } from "./topics.js";
export { formatState, parseState } from "./state.js";
export type { HostState } from "./state.js";
export { loadMutualTls } from "./connect.js";
export { EdgeNode, REBIRTH_METRIC, startEdgeNode } from "./edge-node.js";
export type { DeviceDefinition, EdgeNodeCommand, EdgeNodeOptions, EdgeNodeStats } from "./edge-node.js";
export type { MetricDefinition } from "./metric-set.js";
export { PrimaryHost, startPrimaryHost } from "./host.js";
export type { HostData, HostEvent, PrimaryHostOptions } from "./host.js";
export { jsonValue, snapshotNode } from "./host-model.js";
export type {
  DeviceState,
  MetricSnapshot,
  MetricState,
  MetricTable,
  NodeSnapshot,
  NodeState,
} from "./host-model.js";
export { mosquittoAcl } from "./acl.js";
export type { SparkplugAclOptions } from "./acl.js";
