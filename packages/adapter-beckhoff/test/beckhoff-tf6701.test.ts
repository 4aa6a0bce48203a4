import { describeAdapterContract, describeSimulator } from "@proj/adapter-kit/testing";
import { createTestPki, mutualTlsTargets, type TestPki } from "@proj/test-broker";
import { afterAll, beforeAll } from "vitest";
import { beckhoffTf6701 } from "../src/index.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki({ name: "beckhoff-tf6701", keyType: "ec-p256" });
});
afterAll(() => pki.cleanup());

describeAdapterContract(beckhoffTf6701);
describeSimulator(
  beckhoffTf6701,
  mutualTlsTargets(() => pki),
);
