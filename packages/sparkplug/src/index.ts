export { SPARKPLUG_ERROR_CODES, SparkplugError, isSparkplugError } from "./errors.js";
export type { SparkplugErrorCode } from "./errors.js";
export { dataTypeName, dataTypeNumber, isWideType } from "./data-types.js";
export type { DataTypeName } from "./data-types.js";
export { decodeArray, encodeArray, isArrayType } from "./arrays.js";
export type { ArrayTypeName, ArrayValue } from "./arrays.js";
export { decodePayload, encodePayload } from "./payload.js";
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
