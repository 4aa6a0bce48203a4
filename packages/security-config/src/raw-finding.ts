import type { Finding, FindingCode } from "@proj/findings";

/** A finding before the profile gives it a severity. */
export interface RawFinding {
  code: FindingCode;
  message: string;
  path?: string;
  remedy?: string;
  /** Overrides the profile's severity (e.g. SHA-1 vs MD5 under WEAK_SIGNATURE). */
  severity?: Finding["severity"];
  /** Set when this finding only follows from another one of the same report. */
  causedBy?: FindingCode;
}
