import { describeAdapterContract, describeSimulator } from "@proj/adapter-kit/testing";
import { createTestPki, mutualTlsTargets, type TestPki } from "@proj/test-broker";
import { afterAll, beforeAll } from "vitest";
import { abbAc500 } from "../src/index.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "abb-ac500", keyType: "rsa2048" });
});
afterAll(() => pki.cleanup());

describeAdapterContract(abbAc500);
describeSimulator(
  abbAc500,
  mutualTlsTargets(() => pki),
);
