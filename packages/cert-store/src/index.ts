export { CertStore, openCertStore, storeResolver } from "./store.js";
export type { CertStoreOptions, ItemInput, StoreItem, StoredCertificate } from "./store.js";
export { versionFromRow } from "./backend.js";
export type {
  BackendFactory,
  ItemKind,
  SealedKey,
  StoreBackend,
  StoredVersion,
  VersionRow,
} from "./backend.js";
export { CERT_STORE_ERROR_CODES, CertStoreError, isCertStoreError } from "./errors.js";
export type { CertStoreErrorCode } from "./errors.js";
