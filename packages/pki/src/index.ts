export { createTestPki } from "./test-pki.js";
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
} from "./test-pki.js";
export {
  LAB_KEY_TYPES,
  initLabPki,
  issueLabLeaf,
  revokeLabCertificate,
  signLabCsr,
  writeLabCrl,
} from "./lab-pki.js";
export type {
  LabCrl,
  LabCsrOptions,
  LabKeyType,
  LabLeaf,
  LabLeafOptions,
  LabPki,
  LabPkiOptions,
  LabRevocation,
} from "./lab-pki.js";
export { REVOCATION_REASONS, signCertificate } from "./certificate.js";
export type { CertificateSpec, Issuer, RevocationReason } from "./certificate.js";
export { createCsr } from "./csr.js";
export type { CertificateRequest } from "./csr.js";
export { KEY_TYPES, cachedKeyPair, generateKeyPair, keyTypeOf } from "./keys.js";
export type { KeyPair, KeyType, SignatureHash } from "./keys.js";
export { toPkcs12 } from "./pkcs12.js";
export type { Pkcs12Options } from "./pkcs12.js";
export { PKI_ERROR_CODES, PkiError, isPkiError } from "./errors.js";
export type { PkiErrorCode } from "./errors.js";
