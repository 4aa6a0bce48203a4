import type * as X509 from "@peculiar/x509";

let loading: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509 needs a Reflect metadata polyfill loaded before it; loading both on first use keeps importing
 * this package free of side effects.
 */
export function loadX509(): Promise<typeof X509> {
  loading ??= import("reflect-metadata").then(() => import("@peculiar/x509"));
  return loading;
}

/** PEM text of DER bytes under `label`, through @peculiar/x509's encoder, ending with a newline (so PEMs concatenate). */
export async function toPem(der: ArrayBuffer | Uint8Array, label: string): Promise<string> {
  const x509 = await loadX509();
  const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
  return `${x509.PemConverter.encode(bytes.slice().buffer, label)}\n`;
}
