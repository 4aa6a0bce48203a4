/** The result of {@link parseJsonText}. */
export type JsonParseResult =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/**
 * Parses JSON text as a configuration file holds it: a leading byte-order mark is skipped, and a syntax error says
 * the line and column (editors show those, not a character offset). The one JSON reader of configuration files.
 *
 * @example
 * ```ts
 * parseJsonText('{ "broker": {}, }'); // { ok: false, error: "line 1, column 17: Expected double-quoted property name ..." }
 * ```
 */
export function parseJsonText(text: string): JsonParseResult {
  const body = text.replace(/^\uFEFF/, "");
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    if (position === undefined) return { ok: false, error: message };
    const before = body.slice(0, Number(position));
    const line = before.split("\n").length;
    const column = Number(position) - before.lastIndexOf("\n");
    return {
      ok: false,
      error: `line ${line}, column ${column}: ${message.replace(/\s*(in JSON )?at position \d+.*$/, "")}`,
    };
  }
}
