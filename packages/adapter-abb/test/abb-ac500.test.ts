import { describeAdapterContract, describeSimulator } from "@proj/adapter-kit/testing";
import {
  createTestPki,
  mosquittoSkipReason,
  startMosquitto,
  startTestBroker,
  type TestPki,
} from "@proj/test-broker";
import { afterAll, beforeAll } from "vitest";
import { abbAc500 } from "../src/index.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "abb-ac500", keyType: "rsa2048" });
});
afterAll(() => pki.cleanup());

const mutual = (url: string) => ({
  broker: { url },
  security: {
    trustStore: [pki.caFile],
    sendClientCertificate: true,
    keyStore: { certificate: pki.client.files.chain, privateKey: pki.client.files.key },
  },
});

describeAdapterContract(abbAc500);

describeSimulator(abbAc500, [
  {
    name: "the embedded aedes broker (mutual TLS)",
    start: async () => {
      const broker = await startTestBroker({ pki, requireClientCert: true });
      return { config: mutual(broker.url), baseDir: pki.dir, [Symbol.asyncDispose]: () => broker.close() };
    },
  },
  {
    name: "Mosquitto (mutual TLS)",
    skip: mosquittoSkipReason(),
    start: async () => {
      const broker = await startMosquitto({ pki, requireCertificate: true });
      return { config: mutual(broker.url), baseDir: pki.dir, [Symbol.asyncDispose]: () => broker.close() };
    },
  },
]);
