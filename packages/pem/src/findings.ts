// The catalogue moved to @proj/findings. These re-exports keep the old import path working for one minor version.
export {
  /** @deprecated Import from `@proj/findings`; this re-export goes in the next minor version. */
  FINDING_CODES,
  /** @deprecated Import from `@proj/findings`; this re-export goes in the next minor version. */
  createFinding,
  /** @deprecated Import from `@proj/findings`; this re-export goes in the next minor version. */
  hasErrors,
  /** @deprecated Import from `@proj/findings`; this re-export goes in the next minor version. */
  isFindingCode,
} from "@proj/findings";
export type {
  /** @deprecated Import from `@proj/findings`; this re-export goes in the next minor version. */
  Finding,
  /** @deprecated Import from `@proj/findings`; this re-export goes in the next minor version. */
  FindingCode,
  /** @deprecated Import from `@proj/findings`; this re-export goes in the next minor version. */
  Severity,
} from "@proj/findings";
