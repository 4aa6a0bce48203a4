import { FINDING_CATALOGUE, type FindingCode } from "@proj/findings";
import {
  inspectCertificate,
  keyWeakness,
  signatureWeakness,
  validityProblem,
  type CertificateInfo,
} from "@proj/pem";
import { X509Certificate } from "node:crypto";
import type { Profile } from "./profiles.js";
import type { RawFinding, ResolvedConfig } from "./resolve.js";

/** What a rule sees. */
export interface RuleContext {
  readonly resolved: ResolvedConfig;
  readonly profile: Profile;
  readonly now: Date;
}

/** A rule: a small named check that returns findings instead of throwing. */
export interface Rule {
  readonly name: string;
  /** Every code the rule may emit (checked when it runs, and against the README's table). */
  readonly codes: readonly FindingCode[];
  /** Runs even with TLS switched off (the grey-out and the URL check); every other rule is skipped then. */
  readonly whenTlsDisabled?: boolean;
  check(context: RuleContext): RawFinding[];
}

/**
 * Declares a rule.
 *
 * @example
 * ```ts
 * const noAnonymous = defineRule({
 *   name: "noAnonymous",
 *   codes: ["FIELD_INVALID"],
 *   check: ({ resolved }) => (resolved.config.broker.username ? [] : [{ code: "FIELD_INVALID", message: "set a username" }]),
 * });
 * ```
 */
export function defineRule(rule: Rule): Rule {
  return rule;
}

const TLS_ORDER = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] as const;

/** Security fields that the grey-out reports when TLS is off. */
const TLS_FIELDS = [
  "checkServerCertificate",
  "trustStore",
  "sendClientCertificate",
  "keyStore",
  "serverName",
  "minTlsVersion",
  "maxTlsVersion",
  "ciphers",
  "alpn",
  "pinnedCertificates",
  "crl",
  "renegotiationIntervalHours",
  "resumptionIntervalHours",
  "crlRefreshHours",
] as const;

interface NamedCertificate {
  readonly info: CertificateInfo;
  readonly role: string;
  readonly path: string;
  readonly anchor: boolean;
}

/** The certificates of each resolved configuration, read once for every rule that looks at them. */
const certificatesOf = new WeakMap<RuleContext["resolved"], NamedCertificate[]>();

/** Every certificate the configuration uses: the trust store's anchors and the key store's chain. */
function certificates({ resolved }: RuleContext): NamedCertificate[] {
  const cached = certificatesOf.get(resolved);
  if (cached) return cached;
  const out: NamedCertificate[] = [];
  for (const anchor of resolved.trustStore?.store.anchors ?? []) {
    const info = anchor.info();
    out.push({
      info,
      role: `trust store certificate "${info.subject.oneLine}"`,
      path: "security.trustStore",
      anchor: true,
    });
  }
  resolved.keyStore?.chain.forEach((pem, i) => {
    const info = inspectCertificate(pem);
    out.push({
      info,
      role: `${i === 0 ? "client certificate" : "key store intermediate"} "${info.subject.oneLine}"`,
      path: "security.keyStore",
      anchor: false,
    });
  });
  certificatesOf.set(resolved, out);
  return out;
}

const tlsDisabled = defineRule({
  name: "tlsDisabled",
  codes: ["TLS_DISABLED", "FIELD_IGNORED"],
  whenTlsDisabled: true,
  check: ({ resolved }) => {
    if (resolved.config.security.enableTls) return [];
    return [
      {
        code: "TLS_DISABLED",
        path: "security.enableTls",
        message:
          "POTENTIAL SECURITY BREACH: TLS is disabled, so credentials and data cross the network in clear text and the broker is not authenticated.",
        remedy:
          'Set "enableTls": true with a trust store, and connect to the broker\'s TLS port (mqtts://, usually 8883).',
      },
      ...TLS_FIELDS.filter((field) => resolved.explicitSecurityFields.has(field)).map((field) => ({
        code: "FIELD_IGNORED" as const,
        path: `security.${field}`,
        message: "It has no effect while enableTls is false.",
      })),
    ];
  },
});

const urlScheme = defineRule({
  name: "urlScheme",
  codes: ["URL_SCHEME_MISMATCH"],
  whenTlsDisabled: true,
  check: ({ resolved }) =>
    resolved.urls.flatMap((url) => {
      const enableTls = resolved.config.security.enableTls;
      if (url.tls === enableTls) return [];
      const secure = url.scheme === "ws" ? "wss" : "mqtts";
      const plain = url.scheme === "wss" ? "ws" : "mqtt";
      return [
        {
          code: "URL_SCHEME_MISMATCH" as const,
          path: "broker.url",
          message: enableTls
            ? `${url.display} is a plain (unencrypted) URL but enableTls is true: the connection would not be protected.`
            : `${url.display} asks for TLS but enableTls is false.`,
          remedy: enableTls
            ? `Use ${secure}://${url.host}${url.port ? `:${url.port}` : ""}: nothing is upgraded or downgraded silently.`
            : `Use ${plain}:// or set enableTls to true (recommended).`,
        },
      ];
    }),
});

const urlCredentials = defineRule({
  name: "urlCredentials",
  codes: ["URL_CREDENTIALS"],
  whenTlsDisabled: true,
  check: ({ resolved }) =>
    resolved.urls.flatMap((url) =>
      url.hasCredentials
        ? [
            {
              code: "URL_CREDENTIALS" as const,
              path: Array.isArray(resolved.config.broker.url)
                ? `broker.url[${resolved.config.broker.url.indexOf(url.raw)}]`
                : "broker.url",
              message: `The URL ${url.display} carries a user name or password, which end up in logs, shell history and process lists.`,
              remedy:
                'Remove them from the URL and set "username" and "password" (the password as "env:NAME").',
            },
          ]
        : [],
    ),
});

const credentials = defineRule({
  name: "credentials",
  codes: ["FIELD_INVALID"],
  whenTlsDisabled: true,
  check: ({ resolved }) => {
    const { broker } = resolved.config;
    // MQTT 3.1 and 3.1.1 send a password only after a username (MQTT 5 allows it alone).
    if (broker.password === undefined || broker.username !== undefined || broker.protocolVersion === 5)
      return [];
    return [
      {
        code: "FIELD_INVALID" as const,
        path: "broker.username",
        message: "A password is set without a username: MQTT 3.1.1 cannot send a password alone.",
        remedy: 'Set "username" too (the broker\'s account name), or use "protocolVersion": 5.',
      },
    ];
  },
});

const serverCheck = defineRule({
  name: "serverCheck",
  codes: ["SERVER_CERT_CHECK_DISABLED", "TRUST_STORE_MISSING", "TRUST_STORE_EMPTY", "FIELD_IGNORED"],
  check: ({ resolved }) => {
    const { security } = resolved.config;
    if (!security.checkServerCertificate) {
      return [
        {
          code: "SERVER_CERT_CHECK_DISABLED",
          path: "security.checkServerCertificate",
          message:
            "The broker's certificate is not checked: any server that answers, including an attacker in the middle, is accepted.",
          remedy:
            "Set checkServerCertificate to true and put the CA that issued the broker's certificate into trustStore.",
        },
        ...(["trustStore", "pinnedCertificates", "crl"] as const)
          .filter((field) => resolved.explicitSecurityFields.has(field))
          .map((field) => ({
            code: "FIELD_IGNORED" as const,
            path: `security.${field}`,
            message: "It has no effect while checkServerCertificate is false.",
          })),
      ];
    }
    if (security.trustStore === undefined) {
      return [
        {
          code: "TRUST_STORE_MISSING",
          path: "security.trustStore",
          message: "The broker's certificate is to be checked, but no trust store is configured.",
          remedy:
            'Set "trustStore": ["certs/ca.pem"]: the CA that issued the broker\'s certificate, or the broker\'s self-signed certificate.',
        },
      ];
    }
    if (resolved.trustStore && resolved.trustStore.store.size === 0) {
      return [
        {
          code: "TRUST_STORE_EMPTY",
          path: "security.trustStore",
          message: "The trust store holds no usable certificate, so no broker can be trusted.",
          remedy: "Put the CA certificate (PEM) that issued the broker's certificate into the trust store.",
        },
      ];
    }
    return [];
  },
});

const trustAnchors = defineRule({
  name: "trustAnchors",
  codes: ["NOT_A_CA"],
  check: ({ resolved }) =>
    (resolved.trustStore?.store.anchors ?? []).flatMap((anchor) => {
      const info = anchor.info();
      if (info.basicConstraints?.ca === true || info.selfSigned) return [];
      return [
        {
          code: "NOT_A_CA" as const,
          path: "security.trustStore",
          message: `The trust store holds "${info.subject.oneLine}", which is neither a CA nor self-signed: it cannot vouch for a broker.`,
          remedy: `Replace it with the CA that issued it ("${info.issuer.oneLine}").`,
        },
      ];
    }),
});

const clientCertificate = defineRule({
  name: "clientCertificate",
  codes: ["CLIENT_CERT_DISABLED", "KEY_STORE_MISSING", "FIELD_IGNORED"],
  check: ({ resolved }) => {
    const { security } = resolved.config;
    if (!security.sendClientCertificate) {
      return [
        {
          code: "CLIENT_CERT_DISABLED",
          path: "security.sendClientCertificate",
          message:
            "The client sends no certificate: the broker can authenticate it by username and password at most.",
          remedy:
            "Set sendClientCertificate to true with a key store, if the broker supports client certificates.",
        },
        ...(resolved.explicitSecurityFields.has("keyStore")
          ? [
              {
                code: "FIELD_IGNORED" as const,
                path: "security.keyStore",
                message: "It has no effect while sendClientCertificate is false.",
              },
            ]
          : []),
      ];
    }
    if (security.keyStore === undefined) {
      return [
        {
          code: "KEY_STORE_MISSING",
          path: "security.keyStore",
          message: "A client certificate is to be sent, but no key store is configured.",
          remedy:
            'Set "keyStore": { "certificate": "certs/client-chain.pem", "privateKey": "certs/client.key" }.',
        },
      ];
    }
    return [];
  },
});

const mutualAuthentication = defineRule({
  name: "mutualAuthentication",
  codes: ["MUTUAL_AUTH_REQUIRED"],
  check: ({ resolved, profile }) => {
    const { security } = resolved.config;
    if (
      !profile.parameters.requireMutualAuth ||
      (security.checkServerCertificate && security.sendClientCertificate)
    )
      return [];
    const missing = mutualTlsOff({ ...security, enableTls: true });
    return [
      {
        code: "MUTUAL_AUTH_REQUIRED",
        path: "security",
        message: `The ${profile.id} profile requires mutual authentication; ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} off.`,
        remedy:
          "Turn on both checkServerCertificate and sendClientCertificate, with a trust store and a key store.",
      },
    ];
  },
});

const keyStoreIdentity = defineRule({
  name: "keyStoreIdentity",
  codes: ["KEY_CERT_MISMATCH", "EKU_MISMATCH"],
  check: ({ resolved }) => {
    const keyStore = resolved.keyStore;
    const leafPem = keyStore?.chain[0];
    if (!keyStore || !leafPem) return [];
    const out: RawFinding[] = [];
    const leaf = new X509Certificate(leafPem);
    const info = inspectCertificate(leafPem);
    if (keyStore.key && !leaf.checkPrivateKey(keyStore.key.keyObject)) {
      out.push({
        code: "KEY_CERT_MISMATCH",
        path: "security.keyStore.privateKey",
        message: `The private key does not belong to the client certificate "${info.subject.oneLine}".`,
        remedy:
          "Use the key the certificate was issued for (compare: openssl x509 -noout -pubkey -in CERT and openssl pkey -pubout -in KEY).",
      });
    }
    if (info.extKeyUsage && !info.extKeyUsage.includes("clientAuth")) {
      out.push({
        code: "EKU_MISMATCH",
        path: "security.keyStore.certificate",
        message: `The client certificate "${info.subject.oneLine}" allows ${info.extKeyUsage.join(", ")}, not clientAuth: brokers refuse it as a client certificate.`,
        remedy: "Issue the client certificate with extendedKeyUsage=clientAuth.",
      });
    }
    return out;
  },
});

const validity = defineRule({
  name: "validity",
  codes: ["CERT_EXPIRED", "CERT_NOT_YET_VALID", "CERT_EXPIRES_SOON"],
  check: (context) => {
    const warningDays = context.resolved.config.security.expiryWarningDays;
    return certificates(context).flatMap(({ info, role, path }): RawFinding[] => {
      const problem = validityProblem(info, context.now, warningDays);
      if (!problem) return [];
      return [
        {
          code: problem.code,
          path,
          message: `The ${role} ${problem.text}.`,
          remedy: FINDING_CATALOGUE[problem.code].remedy,
        },
      ];
    });
  },
});

const keyStrength = defineRule({
  name: "keyStrength",
  codes: ["WEAK_KEY"],
  check: (context) =>
    certificates(context).flatMap(({ info, role, path }) => {
      const weak = keyWeakness(info.publicKey, context.profile.parameters);
      return weak
        ? [
            {
              code: "WEAK_KEY" as const,
              path,
              message: `The ${role}'s key is ${weak}, under the ${context.profile.id} profile.`,
              remedy: FINDING_CATALOGUE.WEAK_KEY.remedy,
            },
          ]
        : [];
    }),
});

const signatureStrength = defineRule({
  name: "signatureStrength",
  codes: ["WEAK_SIGNATURE"],
  check: (context) =>
    certificates(context).flatMap(({ info, role, path, anchor }) => {
      // A trust anchor's own signature is never relied on.
      if (anchor && info.selfSigned) return [];
      const weak = signatureWeakness(info.signature, context.profile.parameters);
      if (!weak || weak.severity === "off") return [];
      return [
        {
          code: "WEAK_SIGNATURE" as const,
          path,
          severity: weak.severity,
          message: `The ${role} is signed with ${weak.why}.`,
          remedy: FINDING_CATALOGUE.WEAK_SIGNATURE.remedy,
        },
      ];
    }),
});

const certificateSize = defineRule({
  name: "certificateSize",
  codes: ["CERT_TOO_LARGE"],
  check: (context) => {
    const limit = context.profile.parameters.maxCertBytes;
    return certificates(context).flatMap(({ info, role, path }) =>
      info.derSize > limit
        ? [
            {
              code: "CERT_TOO_LARGE" as const,
              path,
              message: `The ${role} is ${info.derSize} bytes; the ${context.profile.id} profile allows ${limit}.`,
              remedy: FINDING_CATALOGUE.CERT_TOO_LARGE.remedy,
            },
          ]
        : [],
    );
  },
});

const tlsVersions = defineRule({
  name: "tlsVersions",
  codes: ["TLS_VERSION_TOO_LOW", "FIELD_INVALID"],
  check: ({ resolved, profile }) => {
    const { minTlsVersion, maxTlsVersion } = resolved.config.security;
    const out: RawFinding[] = [];
    if (TLS_ORDER.indexOf(minTlsVersion) > TLS_ORDER.indexOf(maxTlsVersion)) {
      out.push({
        code: "FIELD_INVALID",
        path: "security.minTlsVersion",
        message: `minTlsVersion ${minTlsVersion} is above maxTlsVersion ${maxTlsVersion}: no version is left.`,
        remedy: 'Use "minTlsVersion": "TLSv1.2", "maxTlsVersion": "TLSv1.3".',
      });
    }
    if (TLS_ORDER.indexOf(minTlsVersion) < TLS_ORDER.indexOf(profile.parameters.minTlsVersion)) {
      out.push({
        code: "TLS_VERSION_TOO_LOW",
        path: "security.minTlsVersion",
        message: `minTlsVersion ${minTlsVersion} allows versions the ${profile.id} profile refuses (minimum ${profile.parameters.minTlsVersion}).`,
        remedy: `Set "minTlsVersion": "${profile.parameters.minTlsVersion}"; update devices that speak only older versions.`,
      });
    }
    return out;
  },
});

const sessionRenewal = defineRule({
  name: "sessionRenewal",
  codes: ["SESSION_RENEWAL_INVALID"],
  check: ({ resolved, profile }) => {
    const { renegotiationIntervalHours: renegotiation, resumptionIntervalHours: resumption } =
      resolved.config.security;
    const max = profile.parameters.maxRenegotiationHours;
    const out: RawFinding[] = [];
    if (renegotiation !== undefined && renegotiation > max) {
      out.push({
        code: "SESSION_RENEWAL_INVALID",
        path: "security.renegotiationIntervalHours",
        message: `renegotiationIntervalHours is ${renegotiation}; the ${profile.id} profile allows at most ${max}.`,
        remedy: `Set it to ${max} or less.`,
      });
    }
    if (resumption !== undefined && resumption >= (renegotiation ?? max)) {
      out.push({
        code: "SESSION_RENEWAL_INVALID",
        path: "security.resumptionIntervalHours",
        message: `resumptionIntervalHours (${resumption}) must be below the renegotiation interval (${renegotiation ?? max}).`,
        remedy:
          "Resume sessions more often than they are renegotiated, e.g. resumption 1 h, renegotiation 24 h.",
      });
    }
    return out;
  },
});

/**
 * With CRLs checked, Node's TLS stack wants a CRL from every CA of the broker's chain, the root included (it issued
 * the next certificate down). The CAs of the trust store without one are named: with a single CA the handshake is
 * certain to fail (an error); with several, only the one the broker's chain ends at matters (a warning).
 */
function crlsMissing(resolved: ResolvedConfig): RawFinding[] {
  // A CRL file that could not be read is the cause to report; which CA lacks a CRL follows once it is fixed.
  const loaded = new Set(resolved.crls.map((c) => c.path));
  if (resolved.config.security.crl.some((_, i) => !loaded.has(`security.crl[${i}]`))) return [];
  const withCrl = new Set(resolved.crls.map((c) => c.info.issuer));
  const cas = (resolved.trustStore?.pems ?? []).flatMap((pem) => {
    try {
      const info = inspectCertificate(pem);
      return info.basicConstraints?.ca ? [info.subject.oneLine] : [];
    } catch {
      return [];
    }
  });
  const missing = [...new Set(cas)].filter((subject) => !withCrl.has(subject));
  if (missing.length === 0) return [];
  const certain = cas.length === 1;
  return [
    {
      code: "CRL_INCOMPLETE",
      severity: certain ? "error" : "warning",
      path: "security.crl",
      message: certain
        ? `CRLs are checked, but there is none from "${missing[0]}": every CA of the broker's chain needs one, so every handshake would fail (UNABLE_TO_GET_CRL).`
        : `CRLs are checked, but there is none from ${missing.map((m) => `"${m}"`).join(", ")}: a broker whose chain goes through one of them would be refused (UNABLE_TO_GET_CRL).`,
      remedy: `Add the CRL of ${missing.length === 1 ? "that CA" : "each of those CAs"} to "crl" (a lab CA's crl.pem holds the root's too), or check no CRL at all.`,
    },
  ];
}

const revocation = defineRule({
  name: "revocation",
  codes: ["CRL_MISSING", "CRL_EXPIRED", "CRL_STALE", "CRL_INCOMPLETE"],
  check: ({ resolved, now, profile }) => {
    const { security } = resolved.config;
    if (!security.checkServerCertificate) return [];
    if (security.crl.length === 0) {
      return [
        {
          code: "CRL_MISSING",
          path: "security.crl",
          message: "No CRL is configured: a revoked broker certificate would still be accepted.",
          remedy: 'Add the CA\'s CRL: "crl": ["certs/ca.crl.pem"], and refresh it (crlRefreshHours).',
        },
      ];
    }
    const maxAgeHours = profile.parameters.maxCrlAgeHours;
    return [
      ...crlsMissing(resolved),
      ...resolved.crls.flatMap(({ info, path }): RawFinding[] => {
        if (info.nextUpdate && info.nextUpdate < now)
          return [
            {
              code: "CRL_EXPIRED",
              path,
              message: `The CRL of "${info.issuer}" was due for renewal on ${info.nextUpdate.toISOString()}: revocations since then are unknown.`,
              remedy: FINDING_CATALOGUE.CRL_EXPIRED.remedy,
            },
          ];
        const ageHours = (now.getTime() - info.thisUpdate.getTime()) / 3_600_000;
        if (maxAgeHours !== undefined && ageHours > maxAgeHours)
          return [
            {
              code: "CRL_STALE",
              path,
              message: `The CRL of "${info.issuer}" was issued ${Math.floor(ageHours)} hour(s) ago; the ${profile.id} profile allows ${maxAgeHours}.`,
              remedy: FINDING_CATALOGUE.CRL_STALE.remedy,
            },
          ];
        return [];
      }),
    ];
  },
});

const PIN = /^sha256\/[A-Za-z0-9+/]{43}=$/;

const pins = defineRule({
  name: "pins",
  codes: ["PIN_MALFORMED"],
  check: ({ resolved }) =>
    resolved.config.security.pinnedCertificates.flatMap((pin, i) =>
      PIN.test(pin)
        ? []
        : [
            {
              code: "PIN_MALFORMED" as const,
              path: `security.pinnedCertificates[${i}]`,
              message: `"${pin.slice(0, 60)}" is not a pin of the form sha256/<44 base64 characters>.`,
              remedy:
                "Take it from the certificate (its spkiPin, as inspectCertificate reads it), or: openssl x509 -in CERT -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64.",
            },
          ],
    ),
});

const serverName = defineRule({
  name: "serverName",
  codes: ["SERVER_NAME_OVERRIDE"],
  check: ({ resolved }) => {
    const name = resolved.config.security.serverName;
    if (name === undefined) return [];
    return resolved.urls
      .filter((url) => url.host.toLowerCase() !== name.toLowerCase())
      .map((url) => ({
        code: "SERVER_NAME_OVERRIDE" as const,
        path: "security.serverName",
        message: `The broker is reached at ${url.host} but its certificate is checked for "${name}"${url.isIp ? " (sent as SNI too)" : ""}.`,
      }));
  },
});

/**
 * The settings that keep a Security section from mutual TLS (TLS on, the broker checked, a client certificate
 * sent), by name; empty when it is mutual TLS.
 *
 * @example
 * ```ts
 * mutualTlsOff({ enableTls: true, checkServerCertificate: true, sendClientCertificate: false });
 * // ["sendClientCertificate"]
 * ```
 */
export function mutualTlsOff(security: MutualTlsSettings): string[] {
  return (["enableTls", "checkServerCertificate", "sendClientCertificate"] as const).filter(
    (key) => !security[key],
  );
}

/** The three settings of a Security section that make mutual TLS. */
export interface MutualTlsSettings {
  readonly enableTls: boolean;
  readonly checkServerCertificate: boolean;
  readonly sendClientCertificate: boolean;
}

/**
 * `SPARKPLUG_NOT_MUTUAL_TLS` when a Security section is not mutual TLS, which Sparkplug requires here; the rule of
 * a configuration with a `sparkplug` section, and what a Sparkplug client checks whatever the configuration says.
 *
 * @example
 * ```ts
 * const finding = notMutualTls({ enableTls: true, checkServerCertificate: true, sendClientCertificate: false });
 * if (finding) console.error(finding.message); // "... and sendClientCertificate is off."
 * ```
 */
export function notMutualTls(security: MutualTlsSettings): RawFinding | undefined {
  const off = mutualTlsOff(security);
  if (off.length === 0) return undefined;
  return {
    code: "SPARKPLUG_NOT_MUTUAL_TLS",
    path: "security",
    message: `Sparkplug runs only over mutual TLS, and ${off.join(", ")} ${off.length > 1 ? "are" : "is"} off.`,
  };
}

/**
 * Why `id` cannot be a Sparkplug group, edge node, device or host id (it becomes one MQTT topic level), or
 * `undefined` when it can.
 *
 * @example
 * ```ts
 * sparkplugIdProblem("line/1"); // 'contains "/"'
 * sparkplugIdProblem("line-1"); // undefined
 * ```
 */
export function sparkplugIdProblem(id: string): string | undefined {
  if (id.length === 0) return "is empty";
  const reserved = ["+", "#", "/"].find((c) => id.includes(c));
  if (reserved) return `contains "${reserved}"`;
  if (id.includes("\u0000")) return "contains a NUL character";
  if (Buffer.byteLength(id, "utf8") > 65_535) return "is longer than an MQTT topic may be";
  if (/[\ud800-\udfff]/u.test(id)) return "is not valid UTF-8 text (a lone surrogate)";
  return undefined;
}

const sparkplugIds = defineRule({
  name: "sparkplugIds",
  codes: ["SPARKPLUG_ID_INVALID"],
  whenTlsDisabled: true,
  check: ({ resolved }) => {
    const sparkplug = resolved.config.sparkplug;
    if (!sparkplug) return [];
    const ids: [string, string | undefined][] = [
      ["groupId", sparkplug.groupId],
      ["edgeNodeId", sparkplug.edgeNodeId],
      ["primaryHostId", sparkplug.primaryHostId],
      ["hostId", sparkplug.hostId],
      ...sparkplug.deviceIds.map((id, i): [string, string] => [`deviceIds[${i}]`, id]),
    ];
    return ids.flatMap(([field, id]) => {
      const problem = id === undefined ? undefined : sparkplugIdProblem(id);
      return problem
        ? [
            {
              code: "SPARKPLUG_ID_INVALID" as const,
              path: `sparkplug.${field}`,
              message: `The Sparkplug ${field} "${id}" ${problem}: it cannot be a topic level.`,
            },
          ]
        : [];
    });
  },
});

const sparkplugMutualTls = defineRule({
  name: "sparkplugMutualTls",
  codes: ["SPARKPLUG_NOT_MUTUAL_TLS"],
  whenTlsDisabled: true,
  check: ({ resolved }) => {
    const finding = resolved.config.sparkplug ? notMutualTls(resolved.config.security) : undefined;
    return finding ? [finding] : [];
  },
});

const sparkplugIdentity = defineRule({
  name: "sparkplugIdentity",
  codes: ["SPARKPLUG_IDENTITY_MISMATCH"],
  check: ({ resolved }) => {
    const nodeId = resolved.config.sparkplug?.edgeNodeId;
    const leaf = resolved.keyStore?.chain[0];
    if (nodeId === undefined || !leaf || !resolved.config.security.sendClientCertificate) return [];
    const subject = inspectCertificate(leaf).subject;
    const cn = subject.parts.find((part) => part.type === "CN")?.value;
    if (cn === nodeId) return [];
    return [
      {
        code: "SPARKPLUG_IDENTITY_MISMATCH",
        path: "sparkplug.edgeNodeId",
        message:
          cn === undefined
            ? `The client certificate "${subject.oneLine}" has no CN, so a broker ACL keyed on the certificate identity cannot match the edge node id "${nodeId}".`
            : `The client certificate's identity is "${cn}" but the edge node publishes as "${nodeId}": a broker ACL keyed on the certificate identity drops its births and data.`,
        remedy: `Issue the edge node a certificate with CN=${nodeId} (mqtt-tls pki issue client --name ${nodeId}), or set edgeNodeId to "${cn ?? "its CN"}".`,
      },
    ];
  },
});

/** Every rule, in the order findings are reported. */
export const RULES: readonly Rule[] = [
  tlsDisabled,
  urlScheme,
  urlCredentials,
  credentials,
  serverCheck,
  trustAnchors,
  clientCertificate,
  mutualAuthentication,
  keyStoreIdentity,
  validity,
  keyStrength,
  signatureStrength,
  certificateSize,
  tlsVersions,
  sessionRenewal,
  revocation,
  pins,
  serverName,
  sparkplugIds,
  sparkplugMutualTls,
  sparkplugIdentity,
];
