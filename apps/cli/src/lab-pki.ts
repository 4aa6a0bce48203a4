import type * as X509 from "@peculiar/x509";
import {
  X509Certificate,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  webcrypto,
  type KeyObject,
} from "node:crypto";
import { access, chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { encodePem } from "@proj/pem";
import { CliError } from "./errors.js";

/** Key algorithms `pki init` and `pki issue` make. */
export const LAB_KEY_TYPES = ["rsa2048", "rsa3072", "ec-p256", "ec-p384", "ed25519"] as const;
export type LabKeyType = (typeof LAB_KEY_TYPES)[number];

const DAY = 86_400_000;
const generate = promisify(generateKeyPair);
const MANIFEST = "pki.json";

interface Manifest {
  readonly keyType: LabKeyType;
  readonly name: string;
  readonly intermediate: boolean;
}

/** What `pki init` wrote. */
export interface LabPki {
  readonly dir: string;
  readonly keyType: LabKeyType;
  /** The root certificate: what every trust store and Mosquitto's `cafile` hold. */
  readonly caFile: string;
  readonly files: readonly string[];
  readonly subjects: { readonly root: string; readonly intermediate: string | undefined };
}

/** What `pki issue` wrote. */
export interface LabLeaf {
  readonly role: "server" | "client";
  readonly name: string;
  readonly certFile: string;
  /** Leaf then intermediate: what a TLS peer sends. */
  readonly chainFile: string;
  readonly keyFile: string;
  readonly subject: string;
  readonly dns: readonly string[];
  readonly ip: readonly string[];
  readonly notAfter: Date;
}

let x509Loading: Promise<typeof X509> | undefined;
/** @peculiar/x509 needs a Reflect metadata polyfill first; loaded on first use only. */
function loadX509(): Promise<typeof X509> {
  x509Loading ??= import("reflect-metadata").then(() => import("@peculiar/x509"));
  return x509Loading;
}

async function newKey(type: LabKeyType): Promise<KeyObject> {
  if (type.startsWith("rsa"))
    return (await generate("rsa", { modulusLength: Number(type.slice(3)) })).privateKey;
  if (type === "ed25519") return (await generate("ed25519")).privateKey;
  return (await generate("ec", { namedCurve: type === "ec-p256" ? "prime256v1" : "secp384r1" })).privateKey;
}

function typeOf(key: KeyObject): LabKeyType {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "rsa") return (details.modulusLength ?? 0) >= 3072 ? "rsa3072" : "rsa2048";
  if (key.asymmetricKeyType === "ed25519") return "ed25519";
  return details.namedCurve === "secp384r1" ? "ec-p384" : "ec-p256";
}

function algorithms(type: LabKeyType): {
  importAs: webcrypto.Algorithm & Record<string, unknown>;
  sign: webcrypto.Algorithm & Record<string, unknown>;
} {
  if (type.startsWith("rsa"))
    return {
      importAs: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      sign: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    };
  if (type === "ed25519") return { importAs: { name: "Ed25519" }, sign: { name: "Ed25519" } };
  const p384 = type === "ec-p384";
  return {
    importAs: { name: "ECDSA", namedCurve: p384 ? "P-384" : "P-256" },
    sign: { name: "ECDSA", hash: p384 ? "SHA-384" : "SHA-256" },
  };
}

async function cryptoKeys(key: KeyObject): Promise<webcrypto.CryptoKeyPair> {
  const { importAs } = algorithms(typeOf(key));
  const publicKey = createPublicKey(key);
  return {
    privateKey: await webcrypto.subtle.importKey(
      "pkcs8",
      key.export({ type: "pkcs8", format: "der" }),
      importAs,
      true,
      ["sign"],
    ),
    publicKey: await webcrypto.subtle.importKey(
      "spki",
      publicKey.export({ type: "spki", format: "der" }),
      importAs,
      true,
      ["verify"],
    ),
  };
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString("hex");
}

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

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

interface Signer {
  readonly cert: X509.X509Certificate;
  readonly key: KeyObject;
}

async function sign(params: {
  subject: string;
  key: KeyObject;
  issuer: Signer | undefined;
  days: number;
  extensions: X509.Extension[];
}): Promise<X509.X509Certificate> {
  const x509 = await loadX509();
  const signerKey = params.issuer?.key ?? params.key;
  const signer = await cryptoKeys(signerKey);
  const subjectKeys = params.issuer ? await cryptoKeys(params.key) : signer;
  const extensions = [
    ...params.extensions,
    await x509.SubjectKeyIdentifierExtension.create(subjectKeys.publicKey),
  ];
  if (params.issuer)
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(params.issuer.cert.publicKey));
  const now = Date.now();
  return x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: params.subject,
    issuer: params.issuer?.cert.subject ?? params.subject,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + params.days * DAY),
    signingAlgorithm: algorithms(typeOf(signerKey)).sign,
    publicKey: subjectKeys.publicKey,
    signingKey: signer.privateKey,
    extensions,
  });
}

/**
 * Makes a lab CA in `dir`: a root (10 years) and, unless `intermediate: false`, an intermediate (5 years) that
 * issues the leaves. Keys are written with mode 0600. Refuses to overwrite an existing CA.
 *
 * @example
 * ```ts
 * const pki = await initLabPki({ dir: "lab-pki", keyType: "ec-p256" });
 * ```
 * @throws {CliError} `PKI_EXISTS` when `dir` already holds a CA.
 */
export async function initLabPki(options: {
  dir: string;
  keyType?: LabKeyType;
  name?: string;
  intermediate?: boolean;
  progress?: (step: string) => void;
}): Promise<LabPki> {
  const x509 = await loadX509();
  const keyType = options.keyType ?? "ec-p256";
  const name = options.name ?? "mqtt-tls lab";
  const dir = options.dir;
  if (await exists(join(dir, MANIFEST))) {
    throw new CliError("PKI_EXISTS", `${dir} already holds a lab CA`, {
      remedy: `Issue certificates from it with \`mqtt-tls pki issue server|client --dir ${dir} --name CN\`, or choose another --dir.`,
    });
  }
  await mkdir(dir, { recursive: true });
  const usage = new x509.KeyUsagesExtension(
    x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    true,
  );
  options.progress?.(`Generating the root CA key (${keyType})`);
  const rootKey = await newKey(keyType);
  const suffix = randomBytes(3).toString("hex");
  const rootSubject = `CN=${name} Root CA, O=${name} ${suffix}`;
  const root = await sign({
    subject: rootSubject,
    key: rootKey,
    issuer: undefined,
    days: 3650,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), usage],
  });
  const files = [
    await writePublic(join(dir, "ca.crt"), encodePem(new Uint8Array(root.rawData))),
    await writeSecret(join(dir, "ca.key"), rootKey),
  ];
  let intermediateSubject: string | undefined;
  if (options.intermediate !== false) {
    options.progress?.(`Generating the intermediate CA key (${keyType})`);
    const key = await newKey(keyType);
    intermediateSubject = `CN=${name} Intermediate CA, O=${name} ${suffix}`;
    const cert = await sign({
      subject: intermediateSubject,
      key,
      issuer: { cert: root, key: rootKey },
      days: 1825,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), usage],
    });
    files.push(
      await writePublic(join(dir, "intermediate-ca.crt"), encodePem(new Uint8Array(cert.rawData))),
      await writeSecret(join(dir, "intermediate-ca.key"), key),
    );
  }
  const manifest: Manifest = { keyType, name, intermediate: options.intermediate !== false };
  files.push(await writePublic(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`));
  return {
    dir,
    keyType,
    caFile: join(dir, "ca.crt"),
    files,
    subjects: {
      root: new X509Certificate(encodePem(new Uint8Array(root.rawData))).subject.replaceAll("\n", ", "),
      intermediate: intermediateSubject,
    },
  };
}

/**
 * Issues a server or client certificate from the lab CA in `dir`: `<name>.crt`, `<name>-chain.crt` (leaf then
 * intermediate) and `<name>.key` (mode 0600). A server certificate names `--dns`/`--ip` in its SANs (the CN when
 * none are given) and carries serverAuth; a client certificate carries clientAuth.
 *
 * @example
 * ```ts
 * await issueLabLeaf({ dir: "lab-pki", role: "server", name: "broker.plant.local", ip: ["10.0.0.5"] });
 * ```
 * @throws {CliError} `PKI_NOT_FOUND` when `dir` holds no CA made by `pki init`.
 */
export async function issueLabLeaf(options: {
  dir: string;
  role: "server" | "client";
  name: string;
  dns?: readonly string[];
  ip?: readonly string[];
  days?: number;
  keyType?: LabKeyType;
  /** Where the leaf's files go. @default dir */
  outDir?: string;
  progress?: (step: string) => void;
}): Promise<LabLeaf> {
  const x509 = await loadX509();
  const { dir, role, name } = options;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST), "utf8")) as Manifest;
  } catch (error) {
    throw new CliError("PKI_NOT_FOUND", `${dir} holds no lab CA (no ${MANIFEST})`, {
      remedy: `Make one first: mqtt-tls pki init --dir ${dir}`,
      cause: error,
    });
  }
  const issuerBase = manifest.intermediate ? "intermediate-ca" : "ca";
  const issuerPem = await readFile(join(dir, `${issuerBase}.crt`), "utf8");
  const issuer: Signer = {
    cert: new x509.X509Certificate(issuerPem),
    key: createPrivateKey(await readFile(join(dir, `${issuerBase}.key`))),
  };
  const ips = [...(options.ip ?? [])];
  const dns = [...(options.dns ?? [])];
  for (const ip of ips) if (!isIP(ip)) throw new CliError("USAGE", `--ip ${ip} is not an IP address`);
  // A server is reached by its name: the CN goes into the subjectAltName too (clients ignore the CN).
  if (role === "server" && !dns.includes(name) && !ips.includes(name)) (isIP(name) ? ips : dns).unshift(name);
  const keyType = options.keyType ?? manifest.keyType;
  options.progress?.(`Generating the ${role} key for ${name} (${keyType})`);
  const key = await newKey(keyType);
  const flags =
    x509.KeyUsageFlags.digitalSignature |
    (keyType.startsWith("rsa") ? x509.KeyUsageFlags.keyEncipherment : 0);
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(flags, true),
    new x509.ExtendedKeyUsageExtension([
      role === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
  ];
  if (dns.length + ips.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...dns.map((value) => ({ type: "dns" as const, value })),
        ...ips.map((value) => ({ type: "ip" as const, value })),
      ]),
    );
  }
  const days = options.days ?? 365;
  const cert = await sign({ subject: `CN=${name}`, key, issuer, days, extensions });
  const base = name.replace(/[^A-Za-z0-9._-]+/g, "_");
  const leafPem = encodePem(new Uint8Array(cert.rawData));
  const out = options.outDir ?? dir;
  await mkdir(out, { recursive: true });
  const certFile = await writePublic(join(out, `${base}.crt`), leafPem);
  const chainFile = await writePublic(
    join(out, `${base}-chain.crt`),
    manifest.intermediate ? leafPem + issuerPem : leafPem,
  );
  const keyFile = await writeSecret(join(out, `${base}.key`), key);
  return {
    role,
    name,
    certFile,
    chainFile,
    keyFile,
    subject: `CN=${name}`,
    dns,
    ip: ips,
    notAfter: new Date(Date.now() + days * DAY),
  };
}
