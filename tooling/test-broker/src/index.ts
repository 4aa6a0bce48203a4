export { createTestPki } from "./pki/test-pki.js";
export type {
  KeyExportOptions,
  TestCertificate,
  TestCrl,
  TestCrlOptions,
  TestEku,
  TestLeaf,
  TestLeafOptions,
  TestPki,
  TestPkiOptions,
} from "./pki/test-pki.js";
export { KEY_TYPES } from "./pki/keys.js";
export type { KeyType, SignatureHash } from "./pki/keys.js";
export type { Pkcs12Options } from "./pki/pkcs12.js";
