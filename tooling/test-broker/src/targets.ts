import { startDevBroker as startTestBroker } from "@proj/dev-broker";
import { mosquittoSkipReason, startMosquitto } from "./mosquitto/start-mosquitto.js";
import type { TestPki } from "@proj/pki";

/** A broker a device simulator can be pointed at (the shape `describeSimulator` of `@proj/adapter-kit` takes). */
export interface MutualTlsTarget {
  readonly name: string;
  readonly skip: string | false;
  start(): Promise<{ config: unknown; baseDir: string } & AsyncDisposable>;
}

/**
 * The embedded aedes broker and a real Mosquitto, both requiring client certificates from `pki()`, each with a
 * mutual-TLS configuration that uses the PKI's client certificate (Mosquitto skipped only where it is missing and
 * `CI` is not set). `pki` is a getter so a PKI made in `beforeAll` can be used.
 *
 * @example
 * ```ts
 * describeSimulator(acmePlc, mutualTlsTargets(() => pki, { clientId: "line1-plc" }));
 * ```
 */
export function mutualTlsTargets(pki: () => TestPki, options: { clientId?: string } = {}): MutualTlsTarget[] {
  const config = (url: string) => ({
    broker: { url, ...(options.clientId ? { clientId: options.clientId } : {}) },
    security: {
      trustStore: [pki().caFile],
      sendClientCertificate: true,
      keyStore: { certificate: pki().client.files.chain, privateKey: pki().client.files.key },
    },
  });
  return [
    {
      name: "the embedded aedes broker (mutual TLS)",
      skip: false,
      start: async () => {
        const broker = await startTestBroker({ pki: pki(), requireClientCert: true });
        return {
          config: config(broker.url),
          baseDir: pki().dir,
          [Symbol.asyncDispose]: () => broker.close(),
        };
      },
    },
    {
      name: "Mosquitto (mutual TLS)",
      skip: mosquittoSkipReason(),
      start: async () => {
        const broker = await startMosquitto({ pki: pki(), requireCertificate: true });
        return {
          config: config(broker.url),
          baseDir: pki().dir,
          [Symbol.asyncDispose]: () => broker.close(),
        };
      },
    },
  ];
}
