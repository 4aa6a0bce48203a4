/** The result of {@link parseJsonText}. */
export type JsonParseResult =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/**
 * Where the first syntax error of a JSON text is (an offset), found by a small scanner of the JSON grammar: V8's own
 * message gives no position for some errors and quotes the text around them instead, which may hold a password.
 */
function syntaxErrorAt(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const string = () => {
    i++; // the opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      i += c === 0x5c ? 2 : 1;
    }
    fail();
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === "{") {
          space();
          if (text[i] !== '"') fail();
          string();
          space();
          if (text[i] !== ":") fail();
          i++;
        }
        value();
        space();
        if (text[i] === ",") i++;
        else if (text[i] === close) {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return string();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(
      text.slice(i, i + 64),
    );
    if (!literal) fail();
    i += literal![0].length;
  };
  try {
    value();
    space();
    if (i < text.length) fail();
  } catch (at) {
    if (typeof at === "number") return at;
    throw at;
  }
  return text.length;
}

/**
 * Parses JSON text as a configuration file holds it: a leading byte-order mark is skipped, and a syntax error says
 * the line and column (editors show those, not a character offset), never the text around it (it may be a
 * password). The one JSON reader of configuration files.
 *
 * @example
 * ```ts
 * parseJsonText('{ "broker": {}, }'); // { ok: false, error: "line 1, column 17: ..." }
 * ```
 */
export function parseJsonText(text: string): JsonParseResult {
  const body = text.replace(/^\uFEFF/, "");
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch (error) {
    const position = syntaxErrorAt(body);
    const before = body.slice(0, position);
    const line = before.split("\n").length;
    const column = position - before.lastIndexOf("\n");
    // V8's wording without any quotation of the text ("Unexpected token 'S', "...pass..." is not valid JSON").
    const what = (error as Error).message
      .replace(/^Unexpected (token|non-whitespace character).*$/s, "an unexpected character")
      .replace(/,\s*".*$/s, "")
      .replace(/\s*(in JSON )?at position \d+.*$/s, "")
      .replace(/\s*\(line \d+ column \d+\)$/, "");
    return {
      ok: false,
      error: `line ${line}, column ${column}: ${position >= body.length ? "the text ends too early" : what}`,
    };
  }
}
