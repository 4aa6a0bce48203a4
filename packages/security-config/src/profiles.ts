import { FINDING_CATALOGUE, type FindingCode } from "@proj/findings";
import { BASELINE_POLICY, type CertificatePolicy, type PolicySeverity } from "@proj/pem";
import type { TlsVersion } from "./schema.js";

/** A rule's severity under a profile; `off` drops its findings. */
export type ProfileSeverity = PolicySeverity;

/**
 * The limits a profile sets: the certificate policy of `@proj/pem` (key sizes and curves, hashes, certificate size,
 * chain depth, CRL age), which `verifyChain` applies to the broker's chain, plus the TLS and session limits.
 */
export interface ProfileParameters extends CertificatePolicy {
  /** TLS versions below this are TLS_VERSION_TOO_LOW. */
  readonly minTlsVersion: TlsVersion;
  /** Both certificate checks must be on (MUTUAL_AUTH_REQUIRED). */
  readonly requireMutualAuth: boolean;
  /** Upper bound of the renegotiation interval, in hours. */
  readonly maxRenegotiationHours: number;
}

/** A security profile: which rule is how severe, the limits, and where each requirement comes from. */
export interface Profile {
  readonly id: string;
  readonly description: string;
  /** Severities that differ from the catalogue's defaults (`FINDING_CATALOGUE` of `@proj/findings`). */
  readonly severities: Readonly<Partial<Record<FindingCode, ProfileSeverity>>>;
  readonly parameters: ProfileParameters;
  /** Where a requirement comes from, by code (IEC 62351-3 clause summaries and their public sources). */
  readonly sources: Readonly<Partial<Record<FindingCode, string>>>;
}

/** The defaults: what a careful integrator wants, with warnings where the field often falls short. */
export const BASELINE: Profile = {
  id: "baseline",
  description:
    "Secure defaults for an MQTT client: TLS on, the broker authenticated, modern keys and versions.",
  // Every other code has the catalogue's default severity (@proj/findings).
  severities: {
    MUTUAL_AUTH_REQUIRED: "off",
    CRL_MISSING: "off",
  },
  parameters: {
    ...BASELINE_POLICY,
    minTlsVersion: "TLSv1.2",
    requireMutualAuth: false,
    maxRenegotiationHours: 24,
  },
  sources: {},
};

/**
 * IEC 62351-3 (TLS for power-system protocols) as public sources summarise it; the standard's text is paywalled,
 * so each requirement names where it comes from.
 */
export const IEC_62351_3: Profile = {
  id: "iec62351-3",
  description:
    "IEC 62351-3: mutual authentication, TLS 1.2 minimum, RSA 2048+/P-256+, SHA-256+, certificates up to 8 KiB, CRLs, session renewal within 24 h.",
  severities: {
    ...BASELINE.severities,
    UNKNOWN_FIELD: "error",
    TLS_DISABLED: "error",
    SERVER_CERT_CHECK_DISABLED: "error",
    NOT_A_CA: "error",
    MUTUAL_AUTH_REQUIRED: "error",
    CHAIN_INCOMPLETE: "error",
    WEAK_KEY: "error",
    CERT_TOO_LARGE: "error",
    TLS_VERSION_TOO_LOW: "error",
    SESSION_RENEWAL_INVALID: "error",
    CRL_MISSING: "warning",
  },
  parameters: {
    ...BASELINE.parameters,
    allowEdwards: false,
    requireMutualAuth: true,
  },
  sources: {
    TLS_DISABLED:
      "IEC 62351-3: TLS protects the communication (Geo SCADA Expert help: POTENTIAL SECURITY BREACH)",
    SERVER_CERT_CHECK_DISABLED:
      "IEC 62351-3: mutual authentication (Geo SCADA Expert help; standard extracts)",
    MUTUAL_AUTH_REQUIRED: "IEC 62351-3: mutual authentication (Geo SCADA Expert help; standard extracts)",
    TLS_VERSION_TOO_LOW:
      "IEC 62351-3: TLS 1.2 minimum, 1.0/1.1 refused, 1.3 allowed (IEC TISSUE 137; standard extracts)",
    WEAK_KEY: "IEC 62351-3: RSA 2048 bits or more, EC P-256 or stronger (standard extracts)",
    WEAK_SIGNATURE: "IEC 62351-3: SHA-256 or stronger; SHA-1 warning, MD5 refused (standard extracts)",
    CERT_TOO_LARGE: "IEC 62351-3: certificates up to 8192 bytes DER (standard extracts; lib60870 default)",
    CRL_MISSING: "IEC 62351-3: revocation checked with CRLs (standard extracts)",
    CRL_EXPIRED: "IEC 62351-3: an unreachable or stale CRL is a warning, never a drop (standard extracts)",
    SESSION_RENEWAL_INVALID:
      "IEC 62351-3: renegotiate at most every 24 h, resumption interval below it (standard extracts)",
    NOT_A_CA: "IEC 62351-3: certificate handling per IEC 62351-9 (standard extracts)",
    CHAIN_INCOMPLETE: "IEC 62351-3: the full chain is exchanged (standard extracts)",
  },
};

/** The built-in profiles by id. */
export const PROFILES: Readonly<Record<string, Profile>> = { baseline: BASELINE, "iec62351-3": IEC_62351_3 };

/** What {@link defineProfile} takes: an id, what it extends, and what it changes. */
export interface ProfileDefinition {
  readonly id: string;
  readonly extends: Profile | keyof typeof PROFILES;
  readonly description?: string;
  readonly severities?: Partial<Record<FindingCode, ProfileSeverity>>;
  readonly parameters?: Partial<ProfileParameters>;
  readonly sources?: Partial<Record<FindingCode, string>>;
}

/**
 * Defines a profile that extends a built-in one (or another defined profile), changing severities and limits.
 *
 * @example
 * ```ts
 * const plant = defineProfile({
 *   id: "plant-4",
 *   extends: "iec62351-3",
 *   parameters: { minRsaBits: 3072 },
 *   severities: { CRL_MISSING: "error" },
 * });
 * const { findings } = await loadConfig(config, { profile: plant });
 * ```
 * @throws {TypeError} when `extends` names no built-in profile.
 */
export function defineProfile(definition: ProfileDefinition): Profile {
  const base = typeof definition.extends === "string" ? PROFILES[definition.extends] : definition.extends;
  if (!base)
    throw new TypeError(
      `unknown profile "${String(definition.extends)}"; built in: ${Object.keys(PROFILES).join(", ")}`,
    );
  return {
    id: definition.id,
    description: definition.description ?? `${base.description} (${definition.id})`,
    severities: { ...base.severities, ...definition.severities },
    parameters: { ...base.parameters, ...definition.parameters },
    sources: { ...base.sources, ...definition.sources },
  };
}

/**
 * The severity a profile gives a code: its own setting, else the catalogue's default.
 *
 * @example
 * ```ts
 * severityOf(BASELINE, "TLS_DISABLED"); // "warning"
 * severityOf(IEC_62351_3, "TLS_DISABLED"); // "error"
 * ```
 */
export function severityOf(profile: Profile, code: FindingCode): ProfileSeverity {
  return profile.severities[code] ?? FINDING_CATALOGUE[code].severity;
}
