import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { DeviceFile } from "./define.js";

/**
 * Writes one device file into `dir` (created if missing): secret files with mode 0600, others 0644. Adapters
 * use it in `toDeviceFiles`.
 *
 * @example
 * ```ts
 * await writeDeviceFile(dir, "ca.crt", caPem, { role: "trust-store", encoding: "PEM", description: "CA certificate" });
 * ```
 */
export async function writeDeviceFile(
  dir: string,
  name: string,
  contents: string | Uint8Array,
  file: Omit<DeviceFile, "path" | "secret"> & { secret?: boolean },
): Promise<DeviceFile> {
  const folder = resolve(dir);
  await mkdir(folder, { recursive: true });
  const path = join(folder, name);
  const secret = file.secret ?? file.role === "private-key";
  await writeFile(path, contents, { mode: secret ? 0o600 : 0o644 });
  // The mode of writeFile applies to a new file only: an existing one keeps its own.
  await chmod(path, secret ? 0o600 : 0o644);
  return { ...file, path, secret };
}

/**
 * The DER bytes of the first PEM block in `pem`.
 *
 * @example
 * ```ts
 * const der = pemToDer(caPem);
 * ```
 */
export function pemToDer(pem: string): Buffer {
  const body = /-----BEGIN [^-]+-----([\s\S]*?)-----END [^-]+-----/.exec(pem)?.[1] ?? "";
  return Buffer.from(body.replace(/\s+/g, ""), "base64");
}
