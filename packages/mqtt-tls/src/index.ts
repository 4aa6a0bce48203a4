export { diagnose, summarizeChain } from "./diagnose.js";
export type { CertificateSummary, ConnectionFailure } from "./diagnose.js";
export { probe } from "./probe.js";
export type { ProbeOptions, ProbeResult, TlsInfo } from "./probe.js";
