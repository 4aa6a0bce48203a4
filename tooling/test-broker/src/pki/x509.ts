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
