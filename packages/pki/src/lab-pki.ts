import type * as X509 from "@peculiar/x509";
import { X509Certificate, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from "node:crypto";
import { access, appendFile, chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import {
  signCertificate,
  signCrl,
  type Issuer,
  type RevocationReason,
  type RevokedEntry,
} from "./certificate.js";
import { PkiError } from "./errors.js";
import { generateKeyPair, keyTypeOf, type KeyPair, type KeyType } from "./keys.js";
import { loadX509, toPem } from "./x509.js";

/** Key algorithms a lab CA makes (nothing a current verifier refuses as weak). */
export const LAB_KEY_TYPES = [
  "rsa2048",
  "rsa3072",
  "rsa4096",
  "ec-p256",
  "ec-p384",
  "ec-p521",
  "ed25519",
] as const;
/** One of {@link LAB_KEY_TYPES}. */
export type LabKeyType = (typeof LAB_KEY_TYPES)[number];

const DAY = 86_400_000;
const MANIFEST = "pki.json";
/** One JSON line per issued certificate (serial, name, role, notAfter), appended: what `revoke --name` looks up. */
const ISSUED = "issued.jsonl";
/** One JSON line per revocation, appended. */
const REVOKED = "revoked.jsonl";
const CRL_FILE = "crl.pem";

interface Manifest {
  readonly keyType: LabKeyType;
  readonly name: string;
  readonly intermediate: boolean;
}

/** What {@link initLabPki} wrote. */
export interface LabPki {
  readonly dir: string;
  readonly keyType: LabKeyType;
  /** The root certificate: what every trust store and Mosquitto's `cafile` hold. */
  readonly caFile: string;
  readonly files: readonly string[];
  readonly subjects: { readonly root: string; readonly intermediate: string | undefined };
}

/** What {@link issueLabLeaf} and {@link signLabCsr} wrote. */
export interface LabLeaf {
  readonly role: "server" | "client";
  readonly name: string;
  /** Serial number, upper-case hex. */
  readonly serial: string;
  readonly certFile: string;
  /** Leaf then intermediate: what a TLS peer sends. */
  readonly chainFile: string;
  /** The private key (mode 0600); absent when a CSR was signed (the key never left its owner). */
  readonly keyFile: string | undefined;
  readonly subject: string;
  readonly dns: readonly string[];
  readonly ip: readonly string[];
  readonly notAfter: Date;
}

/** Options of {@link initLabPki}. */
export interface LabPkiOptions {
  /** The folder the CA lives in (created if missing). */
  dir: string;
  /** @default "ec-p256" */
  keyType?: LabKeyType;
  /** Goes into the CA subjects. @default "mqtt-tls lab" */
  name?: string;
  /** Issue leaves from an intermediate CA. @default true */
  intermediate?: boolean;
  /** Told each slow step (key generation) before it starts. */
  progress?: (step: string) => void;
}

/** Options of {@link issueLabLeaf}. */
export interface LabLeafOptions {
  /** The folder of the CA made by {@link initLabPki}. */
  dir: string;
  role: "server" | "client";
  /** Common name, and the base of the file names. */
  name: string;
  /** DNS names for the subjectAltName (a server's CN is added when it is not listed). */
  dns?: readonly string[];
  /** IP addresses for the subjectAltName. */
  ip?: readonly string[];
  /** @default 365 */
  days?: number;
  /** @default the CA's key type */
  keyType?: LabKeyType;
  /** Where the leaf's files go. @default dir */
  outDir?: string;
  /** Told each slow step (key generation) before it starts. */
  progress?: (step: string) => void;
}

/** Options of {@link signLabCsr}. */
export interface LabCsrOptions extends Omit<LabLeafOptions, "name" | "keyType" | "progress"> {
  /** The certificate signing request, PEM or DER. Its signature is checked; its subject CN names the leaf. */
  csr: string | Uint8Array;
  /** Overrides the CSR's common name. */
  name?: string;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function writePublic(path: string, text: string): Promise<string> {
  await writeFile(path, text, { mode: 0o644 });
  await chmod(path, 0o644);
  return path;
}

async function writeSecret(path: string, key: KeyObject): Promise<string> {
  await writeFile(path, key.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

function oneLineSubject(pem: string): string {
  return new X509Certificate(pem).subject.replaceAll("\n", ", ");
}

/**
 * Makes a lab CA in `dir`: a root (10 years) and, unless `intermediate: false`, an intermediate (5 years) that
 * issues the leaves. Keys are written with mode 0600. Refuses to overwrite an existing CA.
 *
 * @example
 * ```ts
 * const pki = await initLabPki({ dir: "lab-pki", keyType: "ec-p256" });
 * console.log(pki.caFile); // lab-pki/ca.crt
 * ```
 * @throws {PkiError} `PKI_EXISTS` when `dir` already holds a CA.
 */
export async function initLabPki(options: LabPkiOptions): Promise<LabPki> {
  const x509 = await loadX509();
  const keyType = options.keyType ?? "ec-p256";
  const name = options.name ?? "mqtt-tls lab";
  const dir = options.dir;
  if (await exists(join(dir, MANIFEST))) {
    throw new PkiError("PKI_EXISTS", `${dir} already holds a lab CA`, {
      remedy: `Issue certificates from it with \`mqtt-tls pki issue server|client --dir ${dir} --name CN\`, or choose another --dir.`,
    });
  }
  await mkdir(dir, { recursive: true });
  const usage = new x509.KeyUsagesExtension(
    x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    true,
  );
  const now = Date.now();
  options.progress?.(`Generating the root CA key (${keyType})`);
  const rootPair = await generateKeyPair(keyType);
  const suffix = randomBytes(3).toString("hex");
  const root = await signCertificate({
    subject: `CN=${name} Root CA, O=${name} ${suffix}`,
    publicKey: rootPair.publicKey,
    keyType,
    signingPair: rootPair,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + 3650 * DAY),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), usage],
  });
  const rootPem = await toPem(root.rawData, "CERTIFICATE");
  const files = [
    await writePublic(join(dir, "ca.crt"), rootPem),
    await writeSecret(join(dir, "ca.key"), rootPair.privateKey),
  ];
  let intermediateSubject: string | undefined;
  if (options.intermediate !== false) {
    options.progress?.(`Generating the intermediate CA key (${keyType})`);
    const pair = await generateKeyPair(keyType);
    const cert = await signCertificate({
      subject: `CN=${name} Intermediate CA, O=${name} ${suffix}`,
      publicKey: pair.publicKey,
      keyType,
      issuer: { cert: root, pair: rootPair },
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(now + 1825 * DAY),
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), usage],
    });
    const pem = await toPem(cert.rawData, "CERTIFICATE");
    intermediateSubject = oneLineSubject(pem);
    files.push(
      await writePublic(join(dir, "intermediate-ca.crt"), pem),
      await writeSecret(join(dir, "intermediate-ca.key"), pair.privateKey),
    );
  }
  const manifest: Manifest = { keyType, name, intermediate: options.intermediate !== false };
  files.push(await writePublic(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`));
  return {
    dir,
    keyType,
    caFile: join(dir, "ca.crt"),
    files,
    subjects: { root: oneLineSubject(rootPem), intermediate: intermediateSubject },
  };
}

interface OpenedCa {
  readonly manifest: Manifest;
  /** The CA that issues the leaves (the intermediate when there is one). */
  readonly issuer: Issuer;
  readonly issuerPem: string;
  /** Reads the root CA, when the issuer is an intermediate (its CRL completes a full-chain CRL check). */
  readonly root: () => Promise<Issuer | undefined>;
}

async function readIssuer(dir: string, base: string): Promise<{ issuer: Issuer; pem: string }> {
  const x509 = await loadX509();
  const pem = await readFile(join(dir, `${base}.crt`), "utf8");
  const privateKey = createPrivateKey(await readFile(join(dir, `${base}.key`)));
  const type = keyTypeOf(privateKey);
  if (!type) throw new TypeError("the CA key is of a type this package cannot sign with");
  const pair: KeyPair = { type, privateKey, publicKey: createPublicKey(privateKey) };
  return { issuer: { cert: new x509.X509Certificate(pem), pair }, pem };
}

async function openCa(dir: string): Promise<OpenedCa> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST), "utf8")) as Manifest;
  } catch (error) {
    throw new PkiError("PKI_NOT_FOUND", `${dir} holds no lab CA (no ${MANIFEST})`, {
      remedy: `Make one first: mqtt-tls pki init --dir ${dir}`,
      cause: error,
    });
  }
  const base = manifest.intermediate ? "intermediate-ca" : "ca";
  try {
    const { issuer, pem } = await readIssuer(dir, base);
    const root = async () => (manifest.intermediate ? (await readIssuer(dir, "ca")).issuer : undefined);
    return { manifest, issuer, issuerPem: pem, root };
  } catch (error) {
    throw new PkiError("PKI_NOT_FOUND", `the CA in ${dir} cannot be read (${base}.crt, ${base}.key)`, {
      remedy: `Restore the files from a backup, or make a new CA with mqtt-tls pki init --dir <new folder>.`,
      cause: error,
    });
  }
}

function checkNames(role: "server" | "client", name: string, dns: readonly string[], ip: readonly string[]) {
  const ips = [...ip];
  const names = [...dns];
  for (const address of ips) {
    if (!isIP(address)) {
      throw new PkiError("PKI_BAD_REQUEST", `${address} is not an IP address`, {
        remedy: "Give IP addresses with --ip and host names with --dns.",
      });
    }
  }
  // A server is reached by its name: the CN goes into the subjectAltName too (clients ignore the CN).
  if (role === "server" && !names.includes(name) && !ips.includes(name))
    (isIP(name) ? ips : names).unshift(name);
  return { dns: names, ip: ips };
}

async function issueFor(params: {
  dir: string;
  ca: OpenedCa;
  role: "server" | "client";
  name: string;
  subject: string;
  publicKey: KeyObject;
  keyType: KeyType;
  dns: readonly string[];
  ip: readonly string[];
  days: number;
  outDir: string;
  privateKey: KeyObject | undefined;
}): Promise<LabLeaf> {
  const x509 = await loadX509();
  const { role, name, dns, ip } = params;
  const flags =
    x509.KeyUsageFlags.digitalSignature |
    (params.keyType.startsWith("rsa") ? x509.KeyUsageFlags.keyEncipherment : 0);
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(flags, true),
    new x509.ExtendedKeyUsageExtension([
      role === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
  ];
  if (dns.length + ip.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...dns.map((value) => ({ type: "dns" as const, value })),
        ...ip.map((value) => ({ type: "ip" as const, value })),
      ]),
    );
  }
  const now = Date.now();
  const notAfter = new Date(now + params.days * DAY);
  const cert = await signCertificate({
    subject: params.subject,
    publicKey: params.publicKey,
    keyType: params.keyType,
    issuer: params.ca.issuer,
    notBefore: new Date(now - 5 * 60_000),
    notAfter,
    extensions,
  });
  const base = name.replace(/[^A-Za-z0-9._-]+/g, "_");
  const leafPem = await toPem(cert.rawData, "CERTIFICATE");
  await mkdir(params.outDir, { recursive: true });
  const certFile = await writePublic(join(params.outDir, `${base}.crt`), leafPem);
  const chainFile = await writePublic(
    join(params.outDir, `${base}-chain.crt`),
    params.ca.manifest.intermediate ? leafPem + params.ca.issuerPem : leafPem,
  );
  const keyFile = params.privateKey
    ? await writeSecret(join(params.outDir, `${base}.key`), params.privateKey)
    : undefined;
  const serial = cert.serialNumber.toUpperCase();
  const record = { serial, name, role, notAfter: notAfter.toISOString(), certFile };
  await appendFile(join(params.dir, ISSUED), `${JSON.stringify(record)}\n`, { mode: 0o644 });
  return { role, name, serial, certFile, chainFile, keyFile, subject: params.subject, dns, ip, notAfter };
}

/**
 * Issues a server or client certificate from the lab CA in `dir`: `<name>.crt`, `<name>-chain.crt` (leaf then
 * intermediate) and `<name>.key` (mode 0600). A server certificate names `dns`/`ip` in its SANs (the CN when
 * none are given) and carries serverAuth; a client certificate carries clientAuth.
 *
 * @example
 * ```ts
 * await issueLabLeaf({ dir: "lab-pki", role: "server", name: "broker.plant.local", ip: ["10.0.0.5"] });
 * ```
 * @throws {PkiError} `PKI_NOT_FOUND` when `dir` holds no CA made by {@link initLabPki}; `PKI_BAD_REQUEST` for an
 *   `ip` that is not an IP address.
 */
export async function issueLabLeaf(options: LabLeafOptions): Promise<LabLeaf & { readonly keyFile: string }> {
  const ca = await openCa(options.dir);
  const names = checkNames(options.role, options.name, options.dns ?? [], options.ip ?? []);
  const keyType = options.keyType ?? ca.manifest.keyType;
  options.progress?.(`Generating the ${options.role} key for ${options.name} (${keyType})`);
  const pair = await generateKeyPair(keyType);
  const leaf = await issueFor({
    dir: options.dir,
    ca,
    role: options.role,
    name: options.name,
    subject: `CN=${options.name}`,
    publicKey: pair.publicKey,
    keyType,
    ...names,
    days: options.days ?? 365,
    outDir: options.outDir ?? options.dir,
    privateKey: pair.privateKey,
  });
  return { ...leaf, keyFile: leaf.keyFile! };
}

/**
 * Signs a certificate signing request with the lab CA in `dir` (the key stays where it was made: on the device,
 * or with the rotation that wrote the CSR). The CSR's signature must verify; its public key must be of a
 * {@link KeyType}; the CSR's subject is kept and its CN names the files.
 *
 * @example
 * ```ts
 * const leaf = await signLabCsr({ dir: "lab-pki", role: "client", csr: await readFile("plc1.csr") });
 * console.log(leaf.certFile, leaf.serial);
 * ```
 * @throws {PkiError} `PKI_BAD_REQUEST` for a CSR that does not parse or verify, or a key type it cannot certify;
 *   `PKI_NOT_FOUND` when `dir` holds no CA.
 */
export async function signLabCsr(options: LabCsrOptions): Promise<LabLeaf> {
  const x509 = await loadX509();
  const ca = await openCa(options.dir);
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(
      typeof options.csr === "string" ? options.csr : new Uint8Array(options.csr).slice().buffer,
    );
  } catch (error) {
    throw new PkiError("PKI_BAD_REQUEST", "the certificate signing request is not a PKCS#10 request", {
      remedy: "Give the CSR as PEM (-----BEGIN CERTIFICATE REQUEST-----) or DER.",
      cause: error,
    });
  }
  const publicKey = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: "der", type: "spki" });
  const keyType = keyTypeOf(publicKey);
  if (!keyType) {
    throw new PkiError("PKI_BAD_REQUEST", "the CSR's key is of a type the lab CA does not certify", {
      remedy: `Make the key as one of: ${LAB_KEY_TYPES.join(", ")}.`,
    });
  }
  const verified = await csr.verify().catch(() => false);
  if (!verified) {
    throw new PkiError("PKI_BAD_REQUEST", "the CSR's signature does not verify with its own key", {
      remedy: "Make the CSR again with the private key it names; it was altered or damaged on the way.",
    });
  }
  const cn = options.name ?? csr.subjectName.getField("CN")[0];
  if (!cn) {
    throw new PkiError("PKI_BAD_REQUEST", "the CSR's subject has no common name", {
      remedy: "Give the name to issue it under (--name).",
    });
  }
  const names = checkNames(options.role, cn, options.dns ?? [], options.ip ?? []);
  return issueFor({
    dir: options.dir,
    ca,
    role: options.role,
    name: cn,
    subject: options.name === undefined ? csr.subject : `CN=${cn}`,
    publicKey,
    keyType,
    ...names,
    days: options.days ?? 365,
    outDir: options.outDir ?? options.dir,
    privateKey: undefined,
  });
}

interface IssuedRecord {
  readonly serial: string;
  readonly name: string;
  readonly role: string;
  readonly notAfter: string;
}

async function readLines<T>(path: string): Promise<T[]> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return "";
    throw error;
  });
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}

/** What {@link revokeLabCertificate} recorded. */
export interface LabRevocation {
  readonly serial: string;
  readonly name: string | undefined;
  readonly reason: RevocationReason | undefined;
  readonly date: Date;
}

/**
 * Records the revocation of a certificate the lab CA in `dir` issued, by its CN (every certificate issued under
 * that name) or by serial. Write the CRL afterwards with {@link writeLabCrl}.
 *
 * @example
 * ```ts
 * await revokeLabCertificate({ dir: "lab-pki", name: "plc7", reason: "keyCompromise" });
 * const crl = await writeLabCrl({ dir: "lab-pki" });
 * ```
 * @throws {PkiError} `PKI_UNKNOWN_CERTIFICATE` when no issued certificate has that name or serial.
 */
export async function revokeLabCertificate(options: {
  dir: string;
  name?: string;
  serial?: string;
  reason?: RevocationReason;
}): Promise<LabRevocation[]> {
  await openCa(options.dir);
  const issued = await readLines<IssuedRecord>(join(options.dir, ISSUED));
  const revoked = new Set(
    (await readLines<{ serial: string }>(join(options.dir, REVOKED))).map((r) => r.serial),
  );
  const wanted = options.serial?.replace(/:/g, "").toUpperCase().replace(/^0+/, "");
  const matches = issued.filter((record) =>
    wanted !== undefined ? record.serial.replace(/^0+/, "") === wanted : record.name === options.name,
  );
  if (matches.length === 0) {
    throw new PkiError(
      "PKI_UNKNOWN_CERTIFICATE",
      `the CA in ${options.dir} issued no certificate ${options.serial !== undefined ? `with serial ${options.serial}` : `named ${options.name ?? "(no name given)"}`}`,
      { remedy: `List what it issued in ${join(options.dir, ISSUED)}.` },
    );
  }
  const date = new Date();
  const out: LabRevocation[] = [];
  for (const record of matches) {
    if (revoked.has(record.serial)) continue;
    const entry = { serial: record.serial, reason: options.reason, date: date.toISOString() };
    await appendFile(join(options.dir, REVOKED), `${JSON.stringify(entry)}\n`, { mode: 0o644 });
    out.push({ serial: record.serial, name: record.name, reason: options.reason, date });
  }
  return out;
}

/** What {@link writeLabCrl} wrote. */
export interface LabCrl {
  readonly file: string;
  readonly pem: string;
  readonly revoked: readonly string[];
  readonly nextUpdate: Date;
}

/**
 * Writes the CRL of the CA that issues the leaves (`crl.pem` in `dir`, PEM with the `X509 CRL` label that
 * OpenSSL and Mosquitto's `crlfile` expect), listing every revocation recorded, valid for `days`. With an
 * intermediate, the root's CRL (revoking nothing) follows in the same file, so a full-chain CRL check finds both.
 *
 * @example
 * ```ts
 * const { file, nextUpdate } = await writeLabCrl({ dir: "lab-pki", days: 7 });
 * ```
 * @throws {PkiError} `PKI_NOT_FOUND` when `dir` holds no CA.
 */
export async function writeLabCrl(options: { dir: string; days?: number }): Promise<LabCrl> {
  const ca = await openCa(options.dir);
  const records = await readLines<{ serial: string; reason?: RevocationReason; date: string }>(
    join(options.dir, REVOKED),
  );
  const revoked: RevokedEntry[] = records.map((r) => ({
    serial: r.serial,
    date: new Date(r.date),
    reason: r.reason,
  }));
  const now = Date.now();
  const nextUpdate = new Date(now + (options.days ?? 7) * DAY);
  const thisUpdate = new Date(now - 60_000);
  const crl = await signCrl({ issuer: ca.issuer, revoked, thisUpdate, nextUpdate });
  let pem = await toPem(crl.rawData, "X509 CRL");
  // Verifiers that check the whole chain (Node's `crl` option does) need the root's CRL for the intermediate too.
  const root = await ca.root();
  if (root)
    pem += await toPem(
      (await signCrl({ issuer: root, revoked: [], thisUpdate, nextUpdate })).rawData,
      "X509 CRL",
    );
  const file = await writePublic(join(options.dir, CRL_FILE), pem);
  return { file, pem, revoked: revoked.map((r) => r.serial), nextUpdate };
}
