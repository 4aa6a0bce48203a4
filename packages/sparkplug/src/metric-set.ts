import { createFinding } from "@proj/findings";
import type { DataTypeName } from "./data-types.js";
import { SparkplugError } from "./errors.js";
import {
  valueProblem,
  type CodecOptions,
  type Metric,
  type MetricValue,
  type PropertySet,
} from "./payload.js";

/** A metric an edge node or device reports: it is in every birth, and in DATA when it changes. */
export interface MetricDefinition {
  readonly name: string;
  readonly datatype: DataTypeName;
  /** The value at birth; `null` for one not known yet. */
  readonly value: MetricValue;
  readonly properties?: PropertySet;
  /** Report by exception: a number is published again only when it moved more than this. @default 0 */
  readonly deadband?: number;
  readonly isTransient?: boolean;
}

interface Slot {
  readonly definition: MetricDefinition;
  readonly alias: number | undefined;
  current: MetricValue;
  /** The value last published (birth or DATA): the deadband is measured from it. */
  published: MetricValue;
}

function sameValue(a: MetricValue, b: MetricValue): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i]);
  return false;
}

function changed(slot: Slot, value: MetricValue): boolean {
  const before = slot.published;
  const deadband = slot.definition.deadband ?? 0;
  if (typeof value === "number" && typeof before === "number")
    return deadband > 0 ? Math.abs(value - before) > deadband : value !== before;
  if (typeof value === "bigint" && typeof before === "bigint") {
    const diff = value > before ? value - before : before - value;
    return deadband > 0 ? diff > BigInt(Math.floor(deadband)) : diff !== 0n;
  }
  return !sameValue(before, value);
}

/**
 * The metrics of one edge node or device: their aliases, current values and what was last published, for births
 * (every metric) and report-by-exception DATA (what changed beyond its deadband).
 */
export class MetricSet {
  readonly #slots = new Map<string, Slot>();
  readonly #byAlias = new Map<number, Slot>();
  readonly #owner: string;

  /** @param nextAlias gives each metric its alias, unique across the edge node; `undefined` for none. */
  constructor(owner: string, definitions: readonly MetricDefinition[], nextAlias: () => number | undefined) {
    this.#owner = owner;
    const lower = new Set<string>();
    for (const definition of definitions) {
      if (this.#slots.has(definition.name))
        throw new SparkplugError(
          "SPARKPLUG_PAYLOAD_INVALID",
          `${owner} defines the metric "${definition.name}" twice.`,
        );
      // tck-id-case-sensitivity-metric-names: names that differ only in case confuse hosts that fold case.
      if (lower.has(definition.name.toLowerCase()))
        throw new SparkplugError(
          "SPARKPLUG_PAYLOAD_INVALID",
          `${owner} has metric names that differ only in case ("${definition.name}").`,
        );
      lower.add(definition.name.toLowerCase());
      const problem = valueProblem(definition.datatype, definition.value);
      if (problem) throw badValue(owner, definition.name, definition.datatype, problem);
      const slot: Slot = {
        definition,
        alias: nextAlias(),
        current: definition.value,
        published: definition.value,
      };
      this.#slots.set(definition.name, slot);
      if (slot.alias !== undefined) this.#byAlias.set(slot.alias, slot);
    }
  }

  /** Every metric with name, alias, datatype, timestamp and current value (and properties), as a birth holds it. */
  birth(timestamp: number): Metric[] {
    return [...this.#slots.values()].map((slot) => {
      slot.published = slot.current;
      const { name, datatype, properties, isTransient } = slot.definition;
      return {
        name,
        ...(slot.alias !== undefined ? { alias: slot.alias } : {}),
        timestamp,
        datatype,
        value: slot.current,
        ...(properties ? { properties } : {}),
        ...(isTransient ? { isTransient } : {}),
      };
    });
  }

  /**
   * Takes new values; returns the metrics to publish now (changed beyond their deadband), by alias when aliases are
   * used, else by name, with no datatype (the birth gave it).
   *
   * @throws {SparkplugError} `SPARKPLUG_METRIC_UNKNOWN` for a name the birth does not have.
   */
  update(values: Readonly<Record<string, MetricValue>>, timestamp: number, publish: boolean): Metric[] {
    // Every name and value is checked before any is kept: a refused update changes nothing (a value that does not
    // fit would otherwise sit in the next birth).
    for (const name in values) {
      const slot = this.#slots.get(name);
      if (!slot) throw unknownMetric(this.#owner, name);
      const problem = valueProblem(slot.definition.datatype, values[name]);
      if (problem) throw badValue(this.#owner, name, slot.definition.datatype, problem);
    }
    const out: Metric[] = [];
    for (const name in values) {
      const value = values[name]!;
      const slot = this.#slots.get(name)!;
      slot.current = value;
      if (!publish || !changed(slot, value)) continue;
      slot.published = value;
      out.push(this.dataMetric(slot, value, timestamp));
    }
    return out;
  }

  /** A DATA metric of `name` (for stored, historical values). */
  dataMetric(slot: Slot | string, value: MetricValue, timestamp: number): Metric {
    const s = typeof slot === "string" ? this.#slots.get(slot) : slot;
    if (!s) throw unknownMetric(this.#owner, slot as string);
    return s.alias !== undefined
      ? { alias: s.alias, timestamp, value }
      : { name: s.definition.name, timestamp, value };
  }

  /** The datatype of a metric given by name or alias (to encode and decode DATA and commands). */
  readonly datatypeOf = (metric: {
    readonly name?: string;
    readonly alias?: number;
  }): DataTypeName | undefined => this.resolve(metric)?.datatype;

  /** Codec options typing this set's metrics, made once. */
  readonly codec: CodecOptions = { datatypeOf: this.datatypeOf };

  /** The definition a metric of a command names (by name, else alias). */
  resolve(metric: { readonly name?: string; readonly alias?: number }): MetricDefinition | undefined {
    const slot =
      metric.name !== undefined
        ? this.#slots.get(metric.name)
        : metric.alias !== undefined
          ? this.#byAlias.get(metric.alias)
          : undefined;
    return slot?.definition;
  }

  has(name: string): boolean {
    return this.#slots.has(name);
  }
}

function badValue(owner: string, name: string, datatype: string, problem: string): SparkplugError {
  const message = `${owner}: the ${datatype} metric "${name}" cannot take the value given (${problem}).`;
  return new SparkplugError("SPARKPLUG_PAYLOAD_INVALID", message, {
    findings: [createFinding("SPARKPLUG_PAYLOAD_INVALID", "error", message)],
  });
}

function unknownMetric(owner: string, name: string): SparkplugError {
  const message = `${owner} has no metric "${name}" in its birth.`;
  return new SparkplugError("SPARKPLUG_METRIC_UNKNOWN", message, {
    findings: [createFinding("SPARKPLUG_METRIC_UNKNOWN", "error", message)],
    remedy:
      "Define every metric before the birth (tck-id-topics-nbirth-metric-reqs): a birth holds every metric the node will report.",
  });
}
