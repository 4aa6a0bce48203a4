export { FILE_PROBLEM_CODES, FINDING_CATALOGUE, FINDING_CODES, isFindingCode } from "./catalogue.js";
export type { CatalogueEntry, FindingCode, Severity } from "./catalogue.js";
export { createFinding, hasErrors } from "./finding.js";
export type { Finding, FindingExtra } from "./finding.js";
export { CodedError, codedErrorGuard } from "./error.js";
export type { CodedErrorOptions } from "./error.js";
export {
  escapeControl,
  mergeLiveFindings,
  orderFindings,
  renderFindings,
  summarizeFindings,
} from "./report.js";
export type { Painter } from "./report.js";
