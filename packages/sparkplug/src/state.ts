/** A host application's STATE (Sparkplug 3.0): JSON `{"online": boolean, "timestamp": ms}`, retained, QoS 1. */
export interface HostState {
  readonly online: boolean;
  readonly timestamp: number;
}

/**
 * The bytes of a STATE message.
 *
 * @example
 * ```ts
 * formatState({ online: true, timestamp: Date.now() }); // Buffer of {"online":true,"timestamp":...}
 * ```
 */
export function formatState(state: HostState): Buffer {
  return Buffer.from(JSON.stringify({ online: state.online, timestamp: state.timestamp }), "utf8");
}

/**
 * Reads a STATE message; `undefined` when it is not the 3.0 JSON (a 2.2 host's `ONLINE`/`OFFLINE` text, say).
 *
 * @example
 * ```ts
 * parseState(Buffer.from('{"online":true,"timestamp":1}')); // { online: true, timestamp: 1 }
 * ```
 */
export function parseState(payload: Uint8Array): HostState | undefined {
  try {
    const value = JSON.parse(Buffer.from(payload).toString("utf8")) as unknown;
    if (typeof value !== "object" || value === null) return undefined;
    const { online, timestamp } = value as Record<string, unknown>;
    if (typeof online !== "boolean" || typeof timestamp !== "number" || !Number.isFinite(timestamp))
      return undefined;
    return { online, timestamp };
  } catch {
    return undefined;
  }
}
