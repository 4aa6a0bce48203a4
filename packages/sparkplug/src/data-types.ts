import { DataType } from "./gen/sparkplug_b_pb.js";

/** A Sparkplug B datatype by its name in the specification (`Int8` … `DateTimeArray`). */
export type DataTypeName = keyof typeof DataType & string;

/** The datatypes whose values are 64 bits wide: their values are `bigint`. */
const WIDE = new Set<DataTypeName>([
  "Int64",
  "UInt64",
  "DateTime",
  "Int64Array",
  "UInt64Array",
  "DateTimeArray",
]);

/** Bits and signedness of the integer datatypes carried in `int_value` / `long_value`. */
export const INTEGER_TYPES: Readonly<Partial<Record<DataTypeName, { bits: number; signed: boolean }>>> = {
  Int8: { bits: 8, signed: true },
  Int16: { bits: 16, signed: true },
  Int32: { bits: 32, signed: true },
  Int64: { bits: 64, signed: true },
  UInt8: { bits: 8, signed: false },
  UInt16: { bits: 16, signed: false },
  UInt32: { bits: 32, signed: false },
  UInt64: { bits: 64, signed: false },
  DateTime: { bits: 64, signed: false },
};

/**
 * The name of a datatype number, or `undefined` for a number the specification does not define.
 *
 * @example
 * ```ts
 * dataTypeName(9); // "Float"
 * dataTypeName(99); // undefined
 * ```
 */
export function dataTypeName(value: number): DataTypeName | undefined {
  const name = DataType[value];
  return typeof name === "string" ? (name as DataTypeName) : undefined;
}

/**
 * The datatype number of a name, as the wire carries it.
 *
 * @example
 * ```ts
 * dataTypeNumber("Boolean"); // 11
 * ```
 */
export function dataTypeNumber(name: DataTypeName): number {
  return DataType[name];
}

/**
 * Whether values of a datatype are `bigint` (Int64, UInt64, DateTime and their arrays).
 *
 * @example
 * ```ts
 * isWideType("DateTime"); // true
 * ```
 */
export function isWideType(name: DataTypeName): boolean {
  return WIDE.has(name);
}
