const SECRET_KEYS = new Set(["password", "passphrase"]);

function redactValue(key: string, value: unknown): unknown {
  if (typeof value === "string") {
    // env:NAME is a reference, not the secret: keep it, it tells the reader where the value comes from.
    if (SECRET_KEYS.has(key) && !value.startsWith("env:")) return "[redacted]";
    if (value.includes("PRIVATE KEY-----")) return "[redacted private key]";
    if (key === "url") return value.replace(/\/\/([^:/@]+):[^@/]*@/, "//$1:[redacted]@");
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(key, item));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(k, v)]));
  }
  return value;
}

/**
 * A copy of a configuration safe to print or log: passwords, passphrases, inline private keys and credentials in
 * URLs are replaced; `env:NAME` references stay, since they name the variable and not its value.
 *
 * @example
 * ```ts
 * console.log(JSON.stringify(redact(config), null, 2));
 * ```
 */
export function redact<T>(config: T): T {
  return redactValue("", config) as T;
}
