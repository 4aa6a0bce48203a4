import { FILE_PROBLEM_CODES, type Finding, type FindingCode } from "@proj/findings";
import type { RawFinding } from "./raw-finding.js";
import type { FileTable, LoadedFile } from "./files.js";

export type { RawFinding } from "./raw-finding.js";
import {
  buildChain,
  inspectCertificate,
  inspectCrls,
  isPemError,
  loadTrustStore,
  parsePem,
  readPkcs12,
  readPrivateKey,
  type CrlInfo,
  type PrivateKeyInfo,
  type TrustStore,
} from "@proj/pem";
import type { SecurityConfig } from "./schema.js";

/** The port each scheme uses when a URL names none. */
export const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  mqtt: 1883,
  tcp: 1883,
  mqtts: 8883,
  ssl: 8883,
  tls: 8883,
  ws: 80,
  wss: 443,
};

/**
 * The port a broker URL connects to: its own, else the scheme's default (1883 mqtt, 8883 mqtts, 80 ws, 443 wss).
 * The one place that knows the defaults.
 *
 * @example
 * ```ts
 * defaultPort("wss://broker.local/mqtt"); // 443
 * defaultPort(loaded.resolved!.urls[0]!); // 8883 for mqtts://broker.local
 * ```
 */
export function defaultPort(url: Pick<BrokerUrl, "scheme" | "port"> | string): number {
  if (typeof url === "string") {
    const parsed = new URL(url);
    const scheme = parsed.protocol.replace(/:$/, "");
    return parsed.port ? Number(parsed.port) : (DEFAULT_PORTS[scheme] ?? 8883);
  }
  return url.port ?? DEFAULT_PORTS[url.scheme] ?? 8883;
}

/** One broker URL, taken apart. */
export interface BrokerUrl {
  readonly raw: string;
  /** The URL as it may be printed or logged: any user name and password in it removed. */
  readonly display: string;
  /** The URL holds a user name or password (`URL_CREDENTIALS`). */
  readonly hasCredentials: boolean;
  readonly scheme: string;
  readonly host: string;
  readonly port: number | undefined;
  readonly isIp: boolean;
  /** The scheme asks for TLS (mqtts, wss). */
  readonly tls: boolean;
}

/** The key store, read and ordered. */
export interface ResolvedKeyStore {
  /** Leaf first, then intermediates (PEM). */
  readonly chain: readonly string[];
  /** The key as PEM (still encrypted if it was), with its passphrase, for Node's TLS. */
  readonly keyPem: string | undefined;
  readonly passphrase: string | undefined;
  readonly key: PrivateKeyInfo | undefined;
  readonly source: string;
  /** The end-entity certificate's subject and expiry, read once here (expiry monitors need nothing else). */
  readonly leaf: { readonly subject: string; readonly notAfter: Date } | undefined;
}

/** A configuration with every default applied, `env:` values substituted and every file read. */
export interface ResolvedConfig {
  readonly config: SecurityConfig;
  /** Security fields the user set (as opposed to defaults): what the grey-out reports. */
  readonly explicitSecurityFields: ReadonlySet<string>;
  readonly urls: readonly BrokerUrl[];
  readonly trustStore: { readonly store: TrustStore; readonly pems: readonly string[] } | undefined;
  readonly keyStore: ResolvedKeyStore | undefined;
  readonly crls: readonly { readonly info: CrlInfo; readonly path: string }[];
  readonly baseDir: string;
}

/** The codes resolution can report. */
export const RESOLVE_CODES: readonly FindingCode[] = [
  "ENV_VAR_MISSING",
  "FIELD_INVALID",
  ...FILE_PROBLEM_CODES,
  "PEM_UNEXPECTED_BLOCK",
  "PEM_UNKNOWN_BLOCK",
  "KEY_ENCRYPTED_NO_PASSPHRASE",
  "KEY_PASSPHRASE_WRONG",
  "KEY_UNSUPPORTED",
  "TRUST_STORE_EMPTY",
  "CHAIN_ORDER",
  "CHAIN_INCOMPLETE",
  "CERT_SIGNATURE_INVALID",
];

/**
 * Replaces every `env:NAME` string with the variable's value; a missing variable becomes a finding naming the
 * variable (never a value) and the field is left out.
 */
export function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  findings: RawFinding[],
  path = "",
): unknown {
  if (typeof value === "string" && value.startsWith("env:")) {
    const name = value.slice(4);
    const resolved = env[name];
    if (resolved === undefined) {
      findings.push({
        code: "ENV_VAR_MISSING",
        path,
        message: `The environment variable ${name} is not set.`,
        remedy: `Set ${name} in the environment of the process (or write the value into the file if it is not a secret).`,
      });
      return undefined;
    }
    return resolved;
  }
  if (Array.isArray(value))
    return value.map((item, i) => substituteEnv(item, env, findings, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const resolved = substituteEnv(item, env, findings, path ? `${path}.${key}` : key);
      if (resolved !== undefined) out[key] = resolved;
    }
    return out;
  }
  return value;
}

/** The file read for a configuration path; a problem reading it becomes a finding and `undefined`. */
function take(files: FileTable, path: string, findings: RawFinding[]): LoadedFile | undefined {
  const entry = files.get(path);
  if (entry === undefined) return undefined;
  if ("bytes" in entry) return entry;
  findings.push(entry);
  return undefined;
}

/** Findings of @proj/pem as this package's, under their own config path when they carry one. */
function fromPem(findings: readonly Finding[], path: string): RawFinding[] {
  return findings.map((f) => ({
    code: f.code,
    message: f.message,
    path: f.path ?? path,
    ...(f.remedy ? { remedy: f.remedy } : {}),
  }));
}

function fromError(error: unknown, path: string, source: string): RawFinding {
  if (!isPemError(error)) throw error;
  return {
    code: error.code,
    path,
    message: `${source}: ${error.message}.`,
    ...(error.remedy ? { remedy: error.remedy } : {}),
  };
}

/**
 * A URL as written, minus any `user:password@` (up to the authority's last `@`, as URL parsing reads it: a password
 * may hold an `@` itself).
 */
function withoutCredentials(raw: string): string {
  return raw.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, "$1");
}

function parseUrl(raw: string, findings: RawFinding[], path: string): BrokerUrl | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    findings.push({
      code: "FIELD_INVALID",
      path,
      message: `"${withoutCredentials(raw)}" is not a URL.`,
      remedy: "Write it as mqtts://host:8883 (or mqtt://, ws://, wss://).",
    });
    return undefined;
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (!["mqtt", "mqtts", "ws", "wss", "tcp", "ssl", "tls"].includes(scheme)) {
    findings.push({
      code: "FIELD_INVALID",
      path,
      message: `The scheme ${scheme}:// is not an MQTT transport.`,
      remedy: "Use mqtts:// (TLS) or wss:// (TLS over WebSocket).",
    });
    return undefined;
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const hasCredentials = url.username !== "" || url.password !== "";
  return {
    raw,
    // Printed as written, minus the credentials (URL would add a trailing slash to a URL without a path).
    display: hasCredentials ? withoutCredentials(raw) : raw,
    hasCredentials,
    scheme,
    host,
    port: url.port ? Number(url.port) : undefined,
    isIp: /^[\d.]+$/.test(host) || host.includes(":"),
    tls: scheme === "mqtts" || scheme === "wss" || scheme === "ssl" || scheme === "tls",
  };
}

/** Reads everything the configuration refers to, honouring the grey-out (nothing is read for a section that is off). */
export function resolveFiles(
  config: SecurityConfig,
  explicitSecurityFields: ReadonlySet<string>,
  baseDir: string,
  findings: RawFinding[],
  files: FileTable,
): ResolvedConfig {
  const { security } = config;
  const urlList = Array.isArray(config.broker.url) ? config.broker.url : [config.broker.url];
  const urls = urlList.flatMap(
    (raw, i) =>
      parseUrl(raw, findings, Array.isArray(config.broker.url) ? `broker.url[${i}]` : "broker.url") ?? [],
  );

  let trustStore: ResolvedConfig["trustStore"];
  if (security.enableTls && security.checkServerCertificate && security.trustStore !== undefined) {
    const entries = Array.isArray(security.trustStore) ? security.trustStore : [security.trustStore];
    const paths = entries.map((_, i) =>
      Array.isArray(security.trustStore) ? `security.trustStore[${i}]` : "security.trustStore",
    );
    const perFile: RawFinding[][] = entries.map(() => []);
    const items = entries.flatMap((entry, i) => {
      const loaded = take(files, paths[i]!, perFile[i]!);
      return loaded ? [{ content: loaded.bytes, source: loaded.source, path: paths[i]! }] : [];
    });
    // One pass reads and indexes every file; each finding carries its file's config path and is reported
    // in file order, with that file's loading problems.
    const { store, findings: storeFindings } = loadTrustStore(items);
    for (const finding of fromPem(
      storeFindings.filter((f) => f.code !== "TRUST_STORE_EMPTY"),
      "security.trustStore",
    )) {
      perFile[Math.max(0, paths.indexOf(finding.path!))]!.push(finding);
    }
    findings.push(...perFile.flat());
    trustStore = { store, pems: store.toPem() };
  }

  let keyStore: ResolvedKeyStore | undefined;
  const ks = security.keyStore;
  if (security.enableTls && security.sendClientCertificate && ks) {
    if (ks.pkcs12 !== undefined && (ks.certificate !== undefined || ks.privateKey !== undefined)) {
      findings.push({
        code: "FIELD_INVALID",
        path: "security.keyStore",
        message: "The key store has both pkcs12 and certificate/privateKey.",
        remedy: "Give either { pkcs12, passphrase } or { certificate, privateKey, passphrase }.",
      });
    } else if (ks.pkcs12 !== undefined) {
      const loaded = take(files, "security.keyStore.pkcs12", findings);
      if (loaded) {
        try {
          const contents = readPkcs12(loaded.bytes, ks.passphrase ?? "");
          const leaf = contents.certificates[0] ? inspectCertificate(contents.certificates[0]) : undefined;
          keyStore = {
            chain: contents.certificates,
            keyPem: contents.key,
            passphrase: undefined,
            key: contents.key ? readPrivateKey(contents.key) : undefined,
            source: loaded.source,
            leaf: leaf ? { subject: leaf.subject.oneLine, notAfter: leaf.notAfter } : undefined,
          };
        } catch (error) {
          const finding = fromError(error, "security.keyStore.pkcs12", loaded.source);
          if (finding.code === "KEY_PASSPHRASE_WRONG" && ks.passphrase === undefined) {
            finding.code = "KEY_ENCRYPTED_NO_PASSPHRASE";
            finding.message = `${loaded.source}: the bundle is protected and no passphrase was given.`;
            finding.remedy = 'Add "passphrase": "env:P12_PASSPHRASE" to the key store.';
          }
          findings.push(finding);
        }
      }
    } else if (ks.certificate === undefined || ks.privateKey === undefined) {
      findings.push({
        code: "FIELD_INVALID",
        path: "security.keyStore",
        message: `The key store lacks ${ks.certificate === undefined ? "certificate" : "privateKey"}.`,
        remedy: "Give { certificate, privateKey, passphrase? } or { pkcs12, passphrase? }.",
      });
    } else {
      const certificate = take(files, "security.keyStore.certificate", findings);
      const privateKey = take(files, "security.keyStore.privateKey", findings);
      let chain: string[] = [];
      let leaf: ResolvedKeyStore["leaf"];
      if (certificate) {
        const parsed = parsePem(certificate.bytes, { source: certificate.source });
        findings.push(...fromPem(parsed.findings, "security.keyStore.certificate"));
        if (parsed.blocks.some((b) => b.type === "certificate")) {
          // The client's chain is the broker's to judge: the trust store here is for the broker's chain, and the
          // root of the client's chain (or even its intermediate) may be one only the broker holds. Its order and
          // whether its certificates belong together are checked; completeness is not.
          const built = buildChain(
            parsed.blocks.filter((b) => b.type === "certificate").map((b) => b.pem),
            { source: certificate.source },
          );
          findings.push(
            ...fromPem(
              built.findings.filter((f) => f.code !== "CHAIN_INCOMPLETE" && f.code !== "CHAIN_UNTRUSTED"),
              "security.keyStore.certificate",
            ),
          );
          const top = built.chain.at(-1);
          // A bare leaf whose issuer the trust store holds as a root is complete for a broker of the same CA.
          const issuedByKnownRoot =
            top !== undefined &&
            (trustStore?.store.issuersOf(top.pem).some((anchor) => anchor.info().selfSigned) ?? false);
          if (built.chain.length === 1 && top && !top.selfSigned && !issuedByKnownRoot) {
            findings.push({
              code: "CHAIN_INCOMPLETE",
              severity: "info",
              path: "security.keyStore.certificate",
              message: `${certificate.source} holds only the client certificate; its issuer "${top.issuer.oneLine}" is not in it. Brokers usually hold only the root CA.`,
              remedy: `If "${top.issuer.oneLine}" is an intermediate CA, append its certificate after the client certificate in ${certificate.source}.`,
            });
          }
          chain = built.pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g) ?? [];
          if (built.chain[0])
            leaf = { subject: built.chain[0].subject.oneLine, notAfter: built.chain[0].notAfter };
        } else if (parsed.findings.length === 0) {
          findings.push({
            code: "PEM_UNEXPECTED_BLOCK",
            path: "security.keyStore.certificate",
            message: `${certificate.source} holds no certificate.`,
            remedy: "Point it to the client certificate (PEM), followed by its intermediates.",
          });
        }
      }
      let key: PrivateKeyInfo | undefined;
      let keyPem: string | undefined;
      if (privateKey) {
        try {
          key = readPrivateKey(privateKey.bytes, ks.passphrase);
          keyPem = parsePem(privateKey.bytes).blocks.find((b) => b.type.endsWith("private-key"))?.pem;
        } catch (error) {
          findings.push(fromError(error, "security.keyStore.privateKey", privateKey.source));
        }
      }
      if (certificate || privateKey) {
        keyStore = {
          chain,
          keyPem,
          passphrase: ks.passphrase,
          key,
          source: certificate?.source ?? privateKey!.source,
          leaf,
        };
      }
    }
  }

  const crls: { info: CrlInfo; path: string }[] = [];
  if (security.enableTls && security.checkServerCertificate) {
    security.crl.forEach((entry, i) => {
      const path = `security.crl[${i}]`;
      const loaded = take(files, path, findings);
      if (!loaded) return;
      try {
        for (const info of inspectCrls(loaded.bytes)) crls.push({ info, path });
      } catch (error) {
        findings.push(fromError(error, path, loaded.source));
      }
    });
  }

  return { config, explicitSecurityFields, urls, trustStore, keyStore, crls, baseDir };
}
