import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import sparkplugPayload from "sparkplug-payload";
import { describe, expect, it } from "vitest";
import { decodeArray, encodeArray } from "./arrays.js";
import { isSparkplugError } from "./errors.js";
import { PayloadSchema } from "./gen/sparkplug_b_pb.js";
import { decodePayload, encodePayload, valueProblem, type Metric, type Payload } from "./payload.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex").toUpperCase();
const int64le = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(v);
  return hex(b);
};
const roundTrip = (payload: Payload) => decodePayload(encodePayload(payload));

function expectInvalid(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(isSparkplugError(error)).toBe(true);
    const e = error as { code: string; message: string; findings: { code: string }[] };
    expect(e.code).toBe("SPARKPLUG_PAYLOAD_INVALID");
    expect(e.findings[0]?.code).toBe("SPARKPLUG_PAYLOAD_INVALID");
    expect(e.message).toMatch(pattern);
    return;
  }
  throw new Error("expected a SPARKPLUG_PAYLOAD_INVALID error");
}

describe("array encodings (Sparkplug 3.0 §6.4.17, the corrected little-endian examples)", () => {
  it.each([
    ["Int8Array", [-23, 123], "E97B"],
    ["FloatArray", [1.23, 89.341], "A4709D3F98AEB242"],
    ["DoubleArray", [12.354213, 1022.9123213], "D7A205685BB528408E171C6F4CF78F40"],
    [
      "DateTimeArray",
      [1256102875335n, 1656107875000n],
      "C7D09075240100 00B8BAB89781010000".replace(/ /g, ""),
    ],
    [
      "BooleanArray",
      [false, false, true, true, false, true, false, false, true, true, false, true],
      "0C00000034D0",
    ],
    ["StringArray", ["ABC", "hello"], "41424300" + "68656C6C6F00"],
    ["Int16Array", [-30000, 30000], "D08A3075"],
    ["UInt32Array", [52, 3293969225], "34000000" + "49FB55C4"],
    ["Int64Array", [-4270929666821191986n, 5n], int64le(-4270929666821191986n) + int64le(5n)],
  ] as const)("%s", (type, values, expected) => {
    const bytes = encodeArray(type, values);
    expect(typeof bytes).not.toBe("string");
    expect(hex(bytes as Uint8Array)).toBe(expected);
    const back = decodeArray(type, bytes as Uint8Array);
    if (type === "FloatArray")
      expect((back as number[]).map((v) => Math.fround(v))).toEqual(
        values.map((v) => Math.fround(v as number)),
      );
    else expect(back).toEqual(values);
  });

  it("refuses arrays whose bytes do not fit the type", () => {
    expect(decodeArray("Int32Array", Uint8Array.from([1, 2, 3]))).toMatch(/not a multiple of 4/);
    expect(decodeArray("BooleanArray", Uint8Array.from([9, 0, 0, 0, 1]))).toMatch(/9 booleans/);
    expect(decodeArray("StringArray", Uint8Array.from([0x41]))).toMatch(/NUL/);
    expect(encodeArray("UInt8Array", [256])).toMatch(/out of range/);
  });
});

describe("payload codec", () => {
  const now = 1_767_225_600_000;
  const everyType: Metric[] = [
    { name: "i8", datatype: "Int8", value: -128 },
    { name: "i16", datatype: "Int16", value: -300 },
    { name: "i32", datatype: "Int32", value: -2_000_000_000 },
    { name: "i64", datatype: "Int64", value: -9_007_199_254_740_993n },
    { name: "u8", datatype: "UInt8", value: 255 },
    { name: "u16", datatype: "UInt16", value: 65_535 },
    { name: "u32", datatype: "UInt32", value: 4_294_967_295 },
    { name: "u64", datatype: "UInt64", value: 18_446_744_073_709_551_615n },
    { name: "f", datatype: "Float", value: 1.5 },
    { name: "d", datatype: "Double", value: Math.PI },
    { name: "b", datatype: "Boolean", value: true },
    { name: "s", datatype: "String", value: "Füllstand ✓" },
    { name: "dt", datatype: "DateTime", value: 1_656_107_875_000n },
    { name: "t", datatype: "Text", value: "long text" },
    { name: "uuid", datatype: "UUID", value: "2b1f4d7e-8a1c-4f0e-9d7a-123456789abc" },
    { name: "bytes", datatype: "Bytes", value: Uint8Array.from([0, 1, 254, 255]) },
    {
      name: "file",
      datatype: "File",
      value: Uint8Array.from([1, 2, 3]),
      metadata: { fileName: "recipe.csv", fileType: "csv", size: 3n, contentType: "text/csv" },
    },
    {
      name: "ds",
      datatype: "DataSet",
      value: {
        columns: ["batch", "weight", "ok", "operator"],
        types: ["Int64", "Double", "Boolean", "String"],
        rows: [
          [1n, 12.5, true, "ana"],
          [2n, 11.25, false, null],
        ],
      },
    },
    {
      name: "Pump Type",
      datatype: "Template",
      value: {
        isDefinition: true,
        version: "1.0",
        metrics: [{ name: "Speed", datatype: "Float", value: 0 }],
        parameters: [{ name: "Vendor", type: "String", value: "Altus" }],
      },
    },
    {
      name: "Pump1",
      datatype: "Template",
      value: {
        isDefinition: false,
        templateRef: "Pump Type",
        metrics: [{ name: "Speed", datatype: "Float", value: 1450 }],
      },
    },
    { name: "ints", datatype: "Int32Array", value: [-1, 0, 1] },
    { name: "bools", datatype: "BooleanArray", value: [true, false, true] },
    { name: "strings", datatype: "StringArray", value: ["a", "", "ç"] },
    { name: "dates", datatype: "DateTimeArray", value: [1n, 2n] },
    { name: "nothing", datatype: "Double", value: null },
    {
      name: "with properties",
      datatype: "Float",
      value: 20,
      properties: {
        engUnit: { type: "String", value: "°C" },
        Quality: { type: "Int32", value: 192 },
        limits: { type: "PropertySet", value: { high: { type: "Double", value: 90 } } },
      },
      isHistorical: true,
      isTransient: true,
      timestamp: now,
      alias: 7,
    },
  ];

  it("round-trips every datatype (tck-id-payloads-metric-datatype-value, 64-bit values as bigint)", () => {
    const payload: Payload = { timestamp: now, seq: 42, uuid: "u-1", metrics: everyType };
    const back = roundTrip(payload);
    expect(back.timestamp).toBe(now);
    expect(back.seq).toBe(42);
    expect(back.uuid).toBe("u-1");
    for (const [i, metric] of everyType.entries()) {
      const got = back.metrics[i]!;
      if (metric.datatype === "Float" && typeof metric.value === "number")
        expect(got.value).toBeCloseTo(metric.value, 5);
      else expect(got.value).toEqual(metric.value);
      expect(got.datatype).toBe(metric.datatype);
      expect(got.name).toBe(metric.name);
    }
    expect(back.metrics.at(-1)).toMatchObject({
      alias: 7,
      timestamp: now,
      isHistorical: true,
      isTransient: true,
    });
    expect(back.metrics.at(-1)?.properties?.limits).toEqual({
      type: "PropertySet",
      value: { high: { type: "Double", value: 90 } },
    });
    expect(back.metrics[16]?.metadata).toEqual({
      fileName: "recipe.csv",
      fileType: "csv",
      size: 3n,
      contentType: "text/csv",
    });
  });

  it("writes the same bytes as the generated schema's reflective encoder", () => {
    const payload: Payload = { timestamp: now, seq: 3, metrics: everyType };
    const ours = encodePayload(payload);
    // Decoded by the runtime's own reflection, and encoded again by it: byte for byte the same.
    const reflected = toBinary(PayloadSchema, fromBinary(PayloadSchema, ours));
    expect(hex(ours)).toBe(hex(reflected));
    const built = toBinary(
      PayloadSchema,
      create(PayloadSchema, {
        timestamp: BigInt(now),
        seq: 1n,
        metrics: [{ name: "a", alias: 1n, datatype: 3, value: { case: "intValue", value: 4294967295 } }],
      }),
    );
    expect(
      hex(
        encodePayload({
          timestamp: now,
          seq: 1,
          metrics: [{ name: "a", alias: 1, datatype: "Int32", value: -1 }],
        }),
      ),
    ).toBe(hex(built));
  });

  it("types DATA metrics without a datatype from the birth, by name or alias", () => {
    const types = new Map<number, "Int16" | "FloatArray">([
      [1, "Int16"],
      [2, "FloatArray"],
    ]);
    const datatypeOf = (m: { alias?: number }) => (m.alias === undefined ? undefined : types.get(m.alias));
    const bytes = encodePayload(
      {
        seq: 5,
        metrics: [
          { alias: 1, value: -5 },
          { alias: 2, value: [0.5, 2] },
        ],
      },
      { datatypeOf },
    );
    expect(decodePayload(bytes, { datatypeOf }).metrics).toEqual([
      { alias: 1, value: -5 },
      { alias: 2, value: [0.5, 2] },
    ]);
    expectInvalid(() => decodePayload(bytes), /alias 1\) has a value but no datatype/);
  });

  it("reads signed values written sign-extended (Tahu) or as their low bits", () => {
    const lowBits = toBinary(
      PayloadSchema,
      create(PayloadSchema, {
        metrics: [{ name: "x", datatype: 1, value: { case: "intValue", value: 0xe9 } }],
      }),
    );
    expect(decodePayload(lowBits).metrics[0]?.value).toBe(-23);
    expect(roundTrip({ metrics: [{ name: "x", datatype: "Int8", value: -23 }] }).metrics[0]?.value).toBe(-23);
  });

  it("refuses values that do not fit their datatype, naming the metric (never truncates)", () => {
    expectInvalid(
      () => encodePayload({ metrics: [{ name: "Level", datatype: "UInt8", value: 300 }] }),
      /"Level" is a UInt8 but its value 300 is out of range/,
    );
    expectInvalid(
      () => encodePayload({ metrics: [{ name: "On", datatype: "Boolean", value: 1 }] }),
      /"On" is a Boolean but its value is a number/,
    );
    expectInvalid(
      () => encodePayload({ metrics: [{ name: "x", datatype: "Int32", value: 1.5 }] }),
      /not an integer/,
    );
    expectInvalid(() => encodePayload({ seq: 256, metrics: [] }), /seq 256/);
    expectInvalid(
      () => encodePayload({ metrics: [{ name: "f", datatype: "Float", value: 1e39 }] }),
      /"f" is a Float but 1e\+39 is beyond its range/,
    );
    expectInvalid(
      () => encodePayload({ metrics: [{ name: "fa", datatype: "FloatArray", value: [1, 1e39] }] }),
      /element 1 \(1e\+39\) is beyond a Float's range/,
    );
    expectInvalid(
      () => encodePayload({ metrics: [{ name: "ds", datatype: "DataSet", value: "rows" }] }),
      /"ds" is a DataSet but the value is no DataSet/,
    );
    expect(valueProblem("UInt8", 300)).toBe("300 is out of range");
    expect(valueProblem("Int64", 2n ** 63n)).toMatch(/out of range/);
    expect(valueProblem("Float", Number.POSITIVE_INFINITY)).toBeUndefined(); // a float32 holds infinities
    expectInvalid(
      () =>
        encodePayload({
          metrics: [
            { name: "q", datatype: "Float", value: 1, properties: { Quality: { type: "Int32", value: 7 } } },
          ],
        }),
      /Quality/,
    );
  });

  it("turns bytes that are not a Sparkplug payload into a coded error, never a crash", () => {
    expectInvalid(
      () => decodePayload(Uint8Array.from([0x12, 0x05, 0x0a])),
      /runs past|not a Sparkplug B protobuf/,
    );
    expectInvalid(() => decodePayload(Buffer.from('{"online":true}')), /not a Sparkplug B protobuf/);
    const badType = toBinary(
      PayloadSchema,
      create(PayloadSchema, {
        metrics: [{ name: "x", datatype: 99, value: { case: "intValue", value: 1 } }],
      }),
    );
    expectInvalid(() => decodePayload(badType), /datatype 99/);
    const wrongCase = toBinary(
      PayloadSchema,
      create(PayloadSchema, {
        metrics: [{ name: "x", datatype: 11, value: { case: "stringValue", value: "yes" } }],
      }),
    );
    expectInvalid(() => decodePayload(wrongCase), /"x" is a Boolean but carries stringValue/);
    const badDataSet = toBinary(
      PayloadSchema,
      create(PayloadSchema, {
        metrics: [
          {
            name: "ds",
            datatype: 16,
            value: { case: "datasetValue", value: { numOfColumns: 2n, columns: ["a", "b"], types: [3] } },
          },
        ],
      }),
    );
    expectInvalid(() => decodePayload(badDataSet), /2 columns but 1 types/); // tck-id-payloads-dataset-types-num
    const badTemplate = toBinary(
      PayloadSchema,
      create(PayloadSchema, {
        metrics: [
          {
            name: "t",
            datatype: 19,
            value: { case: "templateValue", value: { isDefinition: true, templateRef: "X" } },
          },
        ],
      }),
    );
    expectInvalid(() => decodePayload(badTemplate), /definition but has a template_ref/); // tck-id-payloads-template-definition-ref
    const nullWithValue = toBinary(
      PayloadSchema,
      create(PayloadSchema, {
        metrics: [{ name: "n", datatype: 3, isNull: true, value: { case: "intValue", value: 1 } }],
      }),
    );
    expectInvalid(() => decodePayload(nullWithValue), /null but has a value/);
  });
});

describe("interop with sparkplug-payload (Eclipse Tahu's JavaScript codec, protobufjs)", () => {
  const tahu = sparkplugPayload.get("spBv1.0");
  const now = 1_767_225_600_000;

  it("decodes what Tahu encodes", () => {
    const bytes = tahu!.encodePayload({
      timestamp: now,
      seq: 7,
      metrics: [
        { name: "Level", alias: 3, timestamp: now, type: "Float", value: 72.5 },
        { name: "Running", type: "Boolean", value: true },
        { name: "Count", type: "Int64", value: 123456789 },
        { name: "Label", type: "String", value: "Tank 1" },
        { name: "Temp", type: "Int16", value: -40 },
        {
          name: "Props",
          type: "Double",
          value: 1.25,
          properties: { engUnit: { type: "String", value: "bar" } },
        },
      ],
    });
    const payload = decodePayload(bytes);
    expect(payload.seq).toBe(7);
    expect(payload.timestamp).toBe(now);
    expect(payload.metrics.map((m) => [m.name, m.datatype, m.value])).toEqual([
      ["Level", "Float", 72.5],
      ["Running", "Boolean", true],
      ["Count", "Int64", 123456789n],
      ["Label", "String", "Tank 1"],
      ["Temp", "Int16", -40],
      ["Props", "Double", 1.25],
    ]);
    expect(payload.metrics[5]?.properties).toEqual({ engUnit: { type: "String", value: "bar" } });
  });

  it("is decoded by Tahu", () => {
    const bytes = encodePayload({
      timestamp: now,
      seq: 9,
      metrics: [
        { name: "bdSeq", datatype: "Int64", value: 4n },
        { name: "Level", alias: 3, datatype: "Float", value: 72.5 },
        { name: "Temp", datatype: "Int32", value: -40 },
        { name: "Label", datatype: "String", value: "Tank 1" },
        { name: "nothing", datatype: "Double", value: null },
      ],
    });
    const decoded = tahu!.decodePayload(bytes) as {
      seq: unknown;
      metrics: { name: string; type: string; value: unknown; isNull?: boolean }[];
    };
    expect(Number(decoded.seq)).toBe(9);
    expect(
      decoded.metrics.map((m) => [
        m.name,
        m.type,
        m.value === null || m.value === undefined ? null : Number(m.value),
      ]),
    ).toEqual([
      ["bdSeq", "Int64", 4],
      ["Level", "Float", 72.5],
      ["Temp", "Int32", -40],
      ["Label", "String", Number.NaN],
      ["nothing", "Double", null],
    ]);
    expect(decoded.metrics[3]?.value).toBe("Tank 1");
  });
});

describe("payload structure rules, checked when decoding", () => {
  const one = (metric: Parameters<typeof create<typeof PayloadSchema>>[1] extends infer I ? I : never) =>
    toBinary(PayloadSchema, create(PayloadSchema, metric));

  it("property sets: keys and values pair up, every value has a known type, Quality is 0, 192 or 500", () => {
    // tck-id-payloads-propertyset-keys-array-size, tck-id-payloads-propertyset-values-array-size
    const unpaired = one({
      metrics: [
        {
          name: "p",
          datatype: 9,
          properties: { keys: ["a", "b"], values: [{ type: 3, value: { case: "intValue", value: 1 } }] },
          value: { case: "floatValue", value: 1 },
        },
      ],
    });
    expectInvalid(() => decodePayload(unpaired), /"p".properties has 2 keys but 1 values/);
    // tck-id-payloads-metric-propertyvalue-type-req, tck-id-payloads-metric-propertyvalue-type-type
    const untyped = one({
      metrics: [
        {
          name: "p",
          datatype: 9,
          properties: { keys: ["engUnit"], values: [{ value: { case: "stringValue", value: "m" } }] },
          value: { case: "floatValue", value: 1 },
        },
      ],
    });
    expectInvalid(() => decodePayload(untyped), /properties.engUnit has no type/);
    // tck-id-payloads-metric-propertyvalue-type-value
    const unknownType = one({
      metrics: [
        {
          name: "p",
          datatype: 9,
          properties: { keys: ["x"], values: [{ type: 77, value: { case: "intValue", value: 1 } }] },
          value: { case: "floatValue", value: 1 },
        },
      ],
    });
    expectInvalid(() => decodePayload(unknownType), /datatype 77/);
    // tck-id-payloads-propertyset-quality-value-type, tck-id-payloads-propertyset-quality-value-value
    const quality = (type: number, value: number) =>
      one({
        metrics: [
          {
            name: "q",
            datatype: 9,
            properties: { keys: ["Quality"], values: [{ type, value: { case: "intValue", value } }] },
            value: { case: "floatValue", value: 1 },
          },
        ],
      });
    expect(decodePayload(quality(3, 500)).metrics[0]?.properties).toEqual({
      Quality: { type: "Int32", value: 500 },
    });
    expectInvalid(
      () => decodePayload(quality(3, 100)),
      /Quality must be an Int32 of 0 \(bad\), 192 \(good\) or 500 \(stale\)/,
    );
    expectInvalid(() => decodePayload(quality(7, 192)), /Quality must be an Int32/);
  });

  it("data sets: a column count, a known type per column, rows as wide as the columns", () => {
    const ds = (value: object) =>
      one({ metrics: [{ name: "ds", datatype: 16, value: { case: "datasetValue", value } }] });
    // tck-id-payloads-dataset-column-size (num_of_columns, a uint64, matches the columns)
    expectInvalid(
      () => decodePayload(ds({ numOfColumns: 3n, columns: ["a", "b"], types: [3, 12] })),
      /says 3 columns but names 2/,
    );
    // tck-id-payloads-dataset-column-num-headers, tck-id-payloads-dataset-types-num, tck-id-payloads-dataset-parameter-type-req
    expectInvalid(
      () => decodePayload(ds({ numOfColumns: 2n, columns: ["a", "b"] })),
      /2 columns but 0 types/,
    );
    // tck-id-payloads-dataset-types-def, tck-id-payloads-dataset-types-type, tck-id-payloads-dataset-types-value
    expectInvalid(
      () => decodePayload(ds({ numOfColumns: 1n, columns: ["a"], types: [40] })),
      /types\[0\] has datatype 40/,
    );
    // tck-id-payloads-template-dataset-value: cells are uint32, uint64, float, double, bool or string, as typed
    const rows = [{ elements: [{ value: { case: "stringValue", value: "x" } }] }];
    expectInvalid(
      () => decodePayload(ds({ numOfColumns: 1n, columns: ["a"], types: [3], rows })),
      /rows\[0\]\[0\] is a Int32 but carries stringValue/,
    );
    const good = ds({
      numOfColumns: 2n,
      columns: ["n", "s"],
      types: [8, 12],
      rows: [
        {
          elements: [
            { value: { case: "longValue", value: 5n } },
            { value: { case: "stringValue", value: "x" } },
          ],
        },
      ],
    });
    expect(decodePayload(good).metrics[0]?.value).toEqual({
      columns: ["n", "s"],
      types: ["UInt64", "String"],
      rows: [[5n, "x"]],
    });
  });

  it("templates: definitions and instances told apart, references, versions and typed parameters", () => {
    const tpl = (value: object) =>
      one({ metrics: [{ name: "t", datatype: 19, value: { case: "templateValue", value } }] });
    // tck-id-payloads-template-is-definition (always present)
    expectInvalid(() => decodePayload(tpl({ metrics: [] })), /has no is_definition/);
    // tck-id-payloads-template-definition-is-definition, tck-id-payloads-template-is-definition-definition,
    // tck-id-payloads-template-ref-definition (a definition has no template_ref)
    expectInvalid(
      () => decodePayload(tpl({ isDefinition: true, templateRef: "Motor" })),
      /definition but has a template_ref/,
    );
    // tck-id-payloads-template-instance-is-definition, tck-id-payloads-template-is-definition-instance,
    // tck-id-payloads-template-instance-ref, tck-id-payloads-template-ref-instance (an instance names its definition)
    expectInvalid(() => decodePayload(tpl({ isDefinition: false })), /instance but has no template_ref/);
    // tck-id-payloads-template-parameter-name-required
    expectInvalid(
      () =>
        decodePayload(
          tpl({ isDefinition: true, parameters: [{ type: 12, value: { case: "stringValue", value: "x" } }] }),
        ),
      /parameters\[0\] has no name/,
    );
    // tck-id-payloads-template-parameter-value-type, tck-id-payloads-template-parameter-type-value,
    // tck-id-payloads-template-parameter-type-req
    expectInvalid(
      () => decodePayload(tpl({ isDefinition: true, parameters: [{ name: "p", type: 0 }] })),
      /parameters\[0\] has datatype 0/,
    );
    // tck-id-payloads-template-parameter-value: a parameter's value is of its type's protobuf kind
    expectInvalid(
      () =>
        decodePayload(
          tpl({
            isDefinition: true,
            parameters: [{ name: "p", type: 11, value: { case: "stringValue", value: "yes" } }],
          }),
        ),
      /parameters\[0\] is a Boolean but carries stringValue/,
    );
    // tck-id-payloads-template-version, tck-id-payloads-template-definition-parameters-default (a default value),
    // tck-id-payloads-template-parameter-name-type (a UTF-8 string),
    // tck-id-payloads-template-instance-parameters
    const definition = decodePayload(
      tpl({
        isDefinition: true,
        version: "2.1",
        metrics: [{ name: "Speed", datatype: 9, value: { case: "floatValue", value: 0 } }],
        parameters: [{ name: "Vendor", type: 12, value: { case: "stringValue", value: "Altus" } }],
      }),
    ).metrics[0]?.value;
    expect(definition).toEqual({
      isDefinition: true,
      version: "2.1",
      metrics: [{ name: "Speed", datatype: "Float", value: 0 }],
      parameters: [{ name: "Vendor", type: "String", value: "Altus" }],
    });
  });

  it("metrics: a datatype of the enumeration (a uint32) on the wire, names or aliases, timestamps in ms UTC", () => {
    // tck-id-payloads-metric-datatype-value-type, tck-id-payloads-metric-datatype-value
    const wire = fromBinary(
      PayloadSchema,
      encodePayload({ metrics: [{ name: "x", datatype: "UInt16", value: 7 }] }),
    );
    expect(wire.metrics[0]?.datatype).toBe(6);
    // tck-id-payloads-name-requirement: a metric without a name needs an alias its birth gave
    expectInvalid(
      () =>
        decodePayload(encodePayload({ metrics: [{ alias: 9, value: 1 }] }, { datatypeOf: () => "Int32" })),
      /alias 9\) has a value but no datatype/,
    );
    // tck-id-payloads-metric-timestamp-in-UTC: milliseconds since the Unix epoch, which is UTC by definition
    const at = Date.UTC(2026, 11, 6, 12, 0, 0);
    expect(
      decodePayload(
        encodePayload({
          timestamp: at,
          metrics: [{ name: "x", timestamp: at, datatype: "Boolean", value: true }],
        }),
      ).metrics[0]?.timestamp,
    ).toBe(at);
  });
});
