import { type Finding, type FindingCode } from "@proj/findings";
import {
  buildChain,
  inspectCertificate,
  inspectCrl,
  isPemError,
  loadTrustStore,
  parsePem,
  readPkcs12,
  readPrivateKey,
  type CrlInfo,
  type PrivateKeyInfo,
  type TrustStore,
} from "@proj/pem";
import { readFileSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { SecurityConfig } from "./schema.js";

/** A finding before the profile gives it a severity. */
export interface RawFinding {
  code: FindingCode;
  message: string;
  path?: string;
  remedy?: string;
  /** Overrides the profile's severity (e.g. SHA-1 vs MD5 under WEAK_SIGNATURE). */
  severity?: Finding["severity"];
}

/** One broker URL, taken apart. */
export interface BrokerUrl {
  readonly raw: string;
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

const FILE_REMEDY =
  "Check the path: relative paths are read from the config file's folder (or baseDir for an object).";

/** The codes resolution can report. */
export const RESOLVE_CODES: readonly FindingCode[] = [
  "ENV_VAR_MISSING",
  "FILE_NOT_FOUND",
  "FILE_UNREADABLE",
  "FIELD_INVALID",
  "NOT_PEM",
  "NOT_PEM_DER",
  "NOT_PEM_PKCS12",
  "NOT_PEM_PKCS7",
  "NOT_PEM_BASE64",
  "PEM_MALFORMED",
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
        message: `${path} refers to the environment variable ${name}, which is not set.`,
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

interface Loaded {
  readonly bytes: Buffer;
  /** The file path, or "inline PEM" for a value that is PEM itself. */
  readonly source: string;
}

/** Reads a path-or-inline-PEM value; problems become findings and `undefined`. */
function load(value: string, path: string, baseDir: string, findings: RawFinding[]): Loaded | undefined {
  if (value.includes("-----BEGIN ")) return { bytes: Buffer.from(value), source: `inline PEM at ${path}` };
  const file = isAbsolute(value) ? value : join(baseDir, value);
  try {
    if (statSync(file).isDirectory()) {
      findings.push({
        code: "FILE_UNREADABLE",
        path,
        message: `${path}: ${value} is a folder, not a file.`,
        remedy: FILE_REMEDY,
      });
      return undefined;
    }
    const bytes = readFileSync(file);
    return { bytes, source: value };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    findings.push(
      code === "ENOENT"
        ? {
            code: "FILE_NOT_FOUND",
            path,
            message: `${path}: the file ${value} does not exist (looked for ${file}).`,
            remedy: FILE_REMEDY,
          }
        : {
            code: "FILE_UNREADABLE",
            path,
            message: `${path}: the file ${value} cannot be read (${code ?? "error"}).`,
            remedy: "Check the file's permissions for the user this runs as.",
          },
    );
    return undefined;
  }
}

/** Findings of @proj/pem as this package's, under their own config path when they carry one. */
function fromPem(findings: readonly Finding[], path: string): RawFinding[] {
  return findings.map((f) => ({
    code: f.code,
    message: `${f.path ?? path}: ${f.message}`,
    path: f.path ?? path,
    ...(f.remedy ? { remedy: f.remedy } : {}),
  }));
}

function fromError(error: unknown, path: string, source: string): RawFinding {
  if (!isPemError(error)) throw error;
  return {
    code: error.code,
    path,
    message: `${path} (${source}): ${error.message}.`,
    ...(error.remedy ? { remedy: error.remedy } : {}),
  };
}

function parseUrl(raw: string, findings: RawFinding[], path: string): BrokerUrl | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    findings.push({
      code: "FIELD_INVALID",
      path,
      message: `${path}: "${raw}" is not a URL.`,
      remedy: "Write it as mqtts://host:8883 (or mqtt://, ws://, wss://).",
    });
    return undefined;
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (!["mqtt", "mqtts", "ws", "wss", "tcp", "ssl", "tls"].includes(scheme)) {
    findings.push({
      code: "FIELD_INVALID",
      path,
      message: `${path}: the scheme ${scheme}:// is not an MQTT transport.`,
      remedy: "Use mqtts:// (TLS) or wss:// (TLS over WebSocket).",
    });
    return undefined;
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return {
    raw,
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
      const loaded = load(entry, paths[i]!, baseDir, perFile[i]!);
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
        message: "security.keyStore has both pkcs12 and certificate/privateKey.",
        remedy: "Give either { pkcs12, passphrase } or { certificate, privateKey, passphrase }.",
      });
    } else if (ks.pkcs12 !== undefined) {
      const loaded = load(ks.pkcs12, "security.keyStore.pkcs12", baseDir, findings);
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
            finding.message = `security.keyStore.pkcs12 (${loaded.source}): the bundle is protected and no passphrase was given.`;
            finding.remedy = 'Add "passphrase": "env:P12_PASSPHRASE" to the key store.';
          }
          findings.push(finding);
        }
      }
    } else if (ks.certificate === undefined || ks.privateKey === undefined) {
      findings.push({
        code: "FIELD_INVALID",
        path: "security.keyStore",
        message: `security.keyStore lacks ${ks.certificate === undefined ? "certificate" : "privateKey"}.`,
        remedy: "Give { certificate, privateKey, passphrase? } or { pkcs12, passphrase? }.",
      });
    } else {
      const certificate = load(ks.certificate, "security.keyStore.certificate", baseDir, findings);
      const privateKey = load(ks.privateKey, "security.keyStore.privateKey", baseDir, findings);
      let chain: string[] = [];
      let leaf: ResolvedKeyStore["leaf"];
      if (certificate) {
        const parsed = parsePem(certificate.bytes, { source: certificate.source });
        findings.push(...fromPem(parsed.findings, "security.keyStore.certificate"));
        if (parsed.blocks.some((b) => b.type === "certificate")) {
          const built = buildChain(
            parsed.blocks.filter((b) => b.type === "certificate").map((b) => b.pem),
            {
              source: certificate.source,
              ...(trustStore ? { trusted: trustStore.pems } : {}),
            },
          );
          // The broker, not this client, holds the root of a client chain: a chain that reaches an intermediate is
          // complete as far as can be seen here, and whether the broker trusts its root is the broker's business.
          // Only a bare leaf whose issuer is nowhere in sight is reported (a warning: it may be a root the broker has).
          const relevant = built.findings.filter(
            (f) => f.code !== "CHAIN_UNTRUSTED" && !(f.code === "CHAIN_INCOMPLETE" && built.chain.length > 1),
          );
          findings.push(...fromPem(relevant, "security.keyStore.certificate"));
          chain = built.pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g) ?? [];
          if (built.chain[0])
            leaf = { subject: built.chain[0].subject.oneLine, notAfter: built.chain[0].notAfter };
        } else if (parsed.findings.length === 0) {
          findings.push({
            code: "PEM_UNEXPECTED_BLOCK",
            path: "security.keyStore.certificate",
            message: `security.keyStore.certificate (${certificate.source}) holds no certificate.`,
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
      const loaded = load(entry, path, baseDir, findings);
      if (!loaded) return;
      try {
        crls.push({ info: inspectCrl(loaded.bytes), path });
      } catch (error) {
        findings.push(fromError(error, path, loaded.source));
      }
    });
  }

  return { config, explicitSecurityFields, urls, trustStore, keyStore, crls, baseDir };
}
