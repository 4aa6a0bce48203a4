import type { Adapter } from "./define.js";
import { AdapterError } from "./errors.js";

/** A set of adapters looked up by id: an instance you create, never a global. */
export interface AdapterRegistry {
  /** Every adapter, in the order given. */
  list(): readonly Adapter[];
  get(id: string): Adapter | undefined;
  has(id: string): boolean;
  /**
   * The adapter with `id`.
   * @throws {AdapterError} `UNKNOWN_DEVICE`, naming the ids there are.
   */
  require(id: string): Adapter;
}

/**
 * Makes a registry of adapters.
 *
 * @example
 * ```ts
 * const devices = createRegistry([nexto, geoScada, myOwnAdapter]);
 * const adapter = devices.require(config.device ?? "altus-nexto");
 * ```
 * @throws {AdapterError} `DUPLICATE_ADAPTER` when two adapters share an id.
 */
export function createRegistry(adapters: Iterable<Adapter>): AdapterRegistry {
  const byId = new Map<string, Adapter>();
  for (const adapter of adapters) {
    if (byId.has(adapter.id))
      throw new AdapterError("DUPLICATE_ADAPTER", `two adapters have the id "${adapter.id}"`);
    byId.set(adapter.id, adapter);
  }
  const all = Object.freeze([...byId.values()]);
  return {
    list: () => all,
    get: (id) => byId.get(id),
    has: (id) => byId.has(id),
    require(id) {
      const adapter = byId.get(id);
      if (adapter) return adapter;
      throw new AdapterError(
        "UNKNOWN_DEVICE",
        `there is no device adapter "${id}"; known: ${[...byId.keys()].join(", ") || "none"}`,
      );
    },
  };
}
