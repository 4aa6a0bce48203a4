import { describeAdapterContract, describeSimulator } from "@proj/adapter-kit/testing";
import { createTestPki, mutualTlsTargets, type TestPki } from "@proj/test-broker";
import { afterAll, beforeAll } from "vitest";
import { codesysMqtt } from "../src/index.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "codesys-mqtt", keyType: "rsa2048" });
});
afterAll(() => pki.cleanup());

describeAdapterContract(codesysMqtt);
describeSimulator(
  codesysMqtt,
  mutualTlsTargets(() => pki),
);
