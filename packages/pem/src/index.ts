export { FINDING_CODES, createFinding, hasErrors, isFindingCode } from "./findings.js";
export type { Finding, FindingCode, Severity } from "./findings.js";
export { PEM_ERROR_CODES, PemError, isPemError } from "./errors.js";
export type { PemErrorCode } from "./errors.js";
export { encodePem, parsePem } from "./parse-pem.js";
export type { InputFormat, ParsePemOptions, ParsePemResult, PemBlock, PemBlockType } from "./parse-pem.js";
export type { DerKind } from "./der.js";
export { inspectCertificate } from "./certificate.js";
export { readCertificateHeader } from "./certificate-header.js";
export type { CertificateHeader } from "./certificate-header.js";
export type {
  CertificateInfo,
  CertificateInput,
  DistinguishedName,
  HashName,
  PublicKeyType,
} from "./certificate.js";
export { keyMatchesCertificate, readPrivateKey } from "./keys.js";
export type { PrivateKeyEncoding, PrivateKeyInfo } from "./keys.js";
export { readPkcs12 } from "./pkcs12.js";
export type { Pkcs12Contents } from "./pkcs12.js";
export { buildChain, verifyChain } from "./chain.js";
export {
  BASELINE_POLICY,
  STRONG_EC_CURVES,
  keyWeakness,
  signatureWeakness,
  validityProblem,
} from "./policy.js";
export type { CertificatePolicy, PolicySeverity, ValidityProblem } from "./policy.js";
export type { BuildChainResult, VerifyChainInput, VerifyChainResult } from "./chain.js";
export { isValidDnsName, matchesDnsName } from "./names.js";
export { loadTrustStore } from "./trust-store.js";
export type { TrustAnchor, TrustStore, TrustStoreInput } from "./trust-store.js";
export { inspectCrl, inspectCrls } from "./crl.js";
export type { CrlInfo } from "./crl.js";
