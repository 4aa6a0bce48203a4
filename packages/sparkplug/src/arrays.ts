import type { DataTypeName } from "./data-types.js";

/** The array datatypes of Sparkplug 3.0, carried little-endian in `bytes_value`. */
export type ArrayTypeName = Extract<DataTypeName, `${string}Array`>;

/** The value of an array datatype: numbers, `bigint`s (64-bit and DateTime), booleans or strings. */
export type ArrayValue = number[] | bigint[] | boolean[] | string[];

interface FixedWidth {
  readonly bytes: number;
  read(view: DataView, offset: number): number | bigint;
  write(view: DataView, offset: number, value: number | bigint): void;
}

const fixed = (bytes: number, read: FixedWidth["read"], write: FixedWidth["write"]): FixedWidth => ({
  bytes,
  read,
  write,
});

const FIXED: Partial<Record<ArrayTypeName, FixedWidth>> = {
  Int8Array: fixed(
    1,
    (v, o) => v.getInt8(o),
    (v, o, x) => v.setInt8(o, Number(x)),
  ),
  Int16Array: fixed(
    2,
    (v, o) => v.getInt16(o, true),
    (v, o, x) => v.setInt16(o, Number(x), true),
  ),
  Int32Array: fixed(
    4,
    (v, o) => v.getInt32(o, true),
    (v, o, x) => v.setInt32(o, Number(x), true),
  ),
  Int64Array: fixed(
    8,
    (v, o) => v.getBigInt64(o, true),
    (v, o, x) => v.setBigInt64(o, BigInt(x), true),
  ),
  UInt8Array: fixed(
    1,
    (v, o) => v.getUint8(o),
    (v, o, x) => v.setUint8(o, Number(x)),
  ),
  UInt16Array: fixed(
    2,
    (v, o) => v.getUint16(o, true),
    (v, o, x) => v.setUint16(o, Number(x), true),
  ),
  UInt32Array: fixed(
    4,
    (v, o) => v.getUint32(o, true),
    (v, o, x) => v.setUint32(o, Number(x), true),
  ),
  UInt64Array: fixed(
    8,
    (v, o) => v.getBigUint64(o, true),
    (v, o, x) => v.setBigUint64(o, BigInt(x), true),
  ),
  FloatArray: fixed(
    4,
    (v, o) => v.getFloat32(o, true),
    (v, o, x) => v.setFloat32(o, Number(x), true),
  ),
  DoubleArray: fixed(
    8,
    (v, o) => v.getFloat64(o, true),
    (v, o, x) => v.setFloat64(o, Number(x), true),
  ),
  DateTimeArray: fixed(
    8,
    (v, o) => v.getBigInt64(o, true),
    (v, o, x) => v.setBigInt64(o, BigInt(x), true),
  ),
};

const RANGES: Partial<Record<ArrayTypeName, readonly [bigint, bigint]>> = {
  Int8Array: [-(2n ** 7n), 2n ** 7n - 1n],
  Int16Array: [-(2n ** 15n), 2n ** 15n - 1n],
  Int32Array: [-(2n ** 31n), 2n ** 31n - 1n],
  Int64Array: [-(2n ** 63n), 2n ** 63n - 1n],
  UInt8Array: [0n, 2n ** 8n - 1n],
  UInt16Array: [0n, 2n ** 16n - 1n],
  UInt32Array: [0n, 2n ** 32n - 1n],
  UInt64Array: [0n, 2n ** 64n - 1n],
  DateTimeArray: [-(2n ** 63n), 2n ** 63n - 1n],
};

/**
 * Whether a datatype is one of the array types.
 *
 * @example
 * ```ts
 * isArrayType("FloatArray"); // true
 * ```
 */
export function isArrayType(type: DataTypeName): type is ArrayTypeName {
  return type.endsWith("Array");
}

/**
 * The bytes of an array value as Sparkplug 3.0 encodes it (little-endian elements; booleans as a 4-byte count and
 * bits from the most significant; strings NUL-terminated), or why the value does not fit the type.
 *
 * @example
 * ```ts
 * encodeArray("Int8Array", [-23, 123]); // Uint8Array [0xe9, 0x7b]
 * ```
 */
export function encodeArray(type: ArrayTypeName, values: readonly unknown[]): Uint8Array | string {
  if (type === "BooleanArray") {
    if (!values.every((v) => typeof v === "boolean")) return "holds a value that is not a boolean";
    const out = new Uint8Array(4 + Math.ceil(values.length / 8));
    new DataView(out.buffer).setUint32(0, values.length, true);
    values.forEach((v, i) => {
      if (v) out[4 + (i >> 3)]! |= 0x80 >> (i & 7);
    });
    return out;
  }
  if (type === "StringArray") {
    if (!values.every((v) => typeof v === "string")) return "holds a value that is not a string";
    if (values.some((v) => v.includes("\u0000"))) return "holds a string with a NUL character";
    return Buffer.from(values.map((v) => `${v}\u0000`).join(""), "utf8");
  }
  const width = FIXED[type]!;
  const range = RANGES[type];
  const out = new Uint8Array(values.length * width.bytes);
  const view = new DataView(out.buffer);
  for (const [i, v] of values.entries()) {
    if (typeof v !== "number" && typeof v !== "bigint") return `element ${i} is not a number`;
    if (
      type === "FloatArray" &&
      typeof v === "number" &&
      Number.isFinite(v) &&
      !Number.isFinite(Math.fround(v))
    )
      return `element ${i} (${v}) is beyond a Float's range`;
    if (range) {
      if (typeof v === "number" && !Number.isInteger(v)) return `element ${i} (${v}) is not an integer`;
      const big = BigInt(v);
      if (big < range[0] || big > range[1]) return `element ${i} (${v}) is out of range`;
    }
    width.write(view, i * width.bytes, v);
  }
  return out;
}

/**
 * The values of an array datatype from its bytes, or why the bytes are not such an array.
 *
 * @example
 * ```ts
 * decodeArray("FloatArray", Uint8Array.from([0xa4, 0x70, 0x9d, 0x3f])); // [1.2300000190734863]
 * ```
 */
export function decodeArray(type: ArrayTypeName, bytes: Uint8Array): ArrayValue | string {
  if (type === "BooleanArray") {
    if (bytes.length < 4) return "is shorter than its 4-byte count";
    const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(0, true);
    if (Math.ceil(count / 8) !== bytes.length - 4)
      return `says ${count} booleans but holds ${(bytes.length - 4) * 8} bits`;
    return Array.from({ length: count }, (_, i) => (bytes[4 + (i >> 3)]! & (0x80 >> (i & 7))) !== 0);
  }
  if (type === "StringArray") {
    if (bytes.length === 0) return [];
    if (bytes[bytes.length - 1] !== 0) return "does not end with a NUL character";
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length - 1)
      .toString("utf8")
      .split("\u0000");
  }
  const width = FIXED[type]!;
  if (bytes.length % width.bytes !== 0) return `is ${bytes.length} bytes, not a multiple of ${width.bytes}`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Array.from({ length: bytes.length / width.bytes }, (_, i) =>
    width.read(view, i * width.bytes),
  ) as ArrayValue;
}
