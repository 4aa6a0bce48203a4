import type * as X509 from "@peculiar/x509";
import { X509Certificate, createHash, randomBytes, type KeyObject } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signCertificate, signCrl, type Issuer, type RevocationReason } from "./certificate.js";
import { PkiError } from "./errors.js";
import { cachedKeyPair, type KeyPair, type KeyType, type SignatureHash } from "./keys.js";
import { toPkcs12, type Pkcs12Options } from "./pkcs12.js";
import { loadX509, toPem } from "./x509.js";

const DAY = 86_400_000;

/** Extended key usages a test leaf can carry. */
export type TestEku = "serverAuth" | "clientAuth" | "codeSigning" | "emailProtection";

/** Options for {@link createTestPki}. */
export interface TestPkiOptions {
  /**
   * Names the PKI in its CA subjects and in the per-process key cache. PKIs with the same name reuse the same keys
   * (fast); give a PKI its own name when a test needs keys no other PKI has (pinning, "wrong CA" by key).
   * CA subjects always carry a random suffix, so two PKIs never trust each other's certificates.
   * @default "test"
   */
  name?: string;
  /** Key type of every certificate unless a leaf says otherwise. @default "ec-p256" */
  keyType?: KeyType;
  /** Key type of the root and intermediate CAs. @default keyType */
  caKeyType?: KeyType;
  /**
   * Issue leaves from an intermediate CA. `{ ca: false }` makes a broken intermediate whose basicConstraints say
   * CA:false (verifiers must refuse chains through it). @default false
   */
  intermediate?: boolean | { ca?: boolean; keyType?: KeyType };
  /** Where files are written. @default a fresh temporary folder, removed by `cleanup()` / `await using` */
  dir?: string;
  /** Validity of the CAs in days. @default 3650 */
  caDays?: number;
  /** Issue the default `server` and `client` leaves. @default true */
  defaultLeaves?: boolean;
}

/** Options for {@link TestPki.issueServer} and {@link TestPki.issueClient}. */
export interface TestLeafOptions {
  /** Common name; also the base of the file names. @default "localhost" for servers, "client" for clients */
  name?: string;
  /** Extra DNS names (servers always get `localhost` unless `wrongName` or `noSan`). */
  dns?: string[];
  /** Extra IP addresses (servers always get 127.0.0.1 and ::1 unless `wrongName` or `noSan`). */
  ip?: string[];
  /** @default the PKI's keyType */
  keyType?: KeyType;
  /** Validity in days from now. @default 365 */
  days?: number;
  /** Valid from 30 days ago until yesterday. */
  expired?: boolean;
  /** Valid from tomorrow. */
  notYetValid?: boolean;
  /** SANs name only `wrong.example` (and CN too): a valid certificate for another host. */
  wrongName?: boolean;
  /** No subjectAltName extension at all (CN only), as old tooling made them. */
  noSan?: boolean;
  /** Extended key usages; `[]` omits the extension. @default ["serverAuth"] or ["clientAuth"] */
  eku?: TestEku[];
  /** Signature hash of the issuing CA. "SHA-1" needs an RSA or EC issuer. @default SHA-256 (SHA-384 for P-384) */
  signatureHash?: SignatureHash;
  /**
   * Key-cache slot: leaves with the same slot share a key. Use a new slot for a rotated key, the old one for a
   * renewed certificate on the same key. @default "<role>:<name>"
   */
  keySlot?: string;
  /**
   * Extensions added as they are, for shapes the options above do not make (a name constraint, a policy, padding
   * that makes the certificate too large).
   */
  extensions?: X509.Extension[];
}

/** A certificate with its key, as PEM and as files on disk. */
export interface TestCertificate {
  /** The common name. */
  readonly name: string;
  readonly keyType: KeyType;
  /** Serial number, upper-case hex. */
  readonly serial: string;
  /** Subject in OpenSSL's one-line form. */
  readonly subject: string;
  /** The certificate, PEM. */
  readonly cert: string;
  /** The certificate, DER. */
  readonly certDer: Buffer;
  /** The private key, unencrypted PKCS#8 PEM. */
  readonly key: string;
  readonly keyObject: KeyObject;
  /** SHA-256 of the DER certificate, colon-separated hex (as Node's `fingerprint256`). */
  readonly fingerprint256: string;
  /** The SPKI pin, `sha256/<base64 of SHA-256 over the DER SubjectPublicKeyInfo>`. */
  readonly spkiPin: string;
  /** Paths of the PEM files written for this certificate. */
  readonly files: { readonly cert: string; readonly key: string };
}

/** A leaf certificate: a {@link TestCertificate} plus its chain and exports in the shapes the field uses. */
export interface TestLeaf extends TestCertificate {
  readonly role: "server" | "client";
  /** Leaf then intermediates (no root), PEM: what a TLS peer sends. */
  readonly chain: string;
  readonly files: { readonly cert: string; readonly key: string; readonly chain: string };
  /**
   * The private key in another encoding. `pkcs1` is RSA only, `sec1` EC only. With a passphrase the key is an
   * encrypted PKCS#8 (`aes-256-cbc`, or `des-ede3-cbc` for the legacy 3DES shape).
   */
  exportKey(options: KeyExportOptions & { format: "der" }): Buffer;
  exportKey(options?: KeyExportOptions & { format?: "pem" }): string;
  /** A PKCS#12 bundle of the key, the leaf and its intermediates. */
  toPkcs12(options: Pkcs12Options): Buffer;
  /** Writes `contents` beside the PKI's other files and returns its path. */
  writeFile(fileName: string, contents: string | Uint8Array): Promise<string>;
}

/** How {@link TestLeaf.exportKey} writes the private key. */
export interface KeyExportOptions {
  encoding?: "pkcs8" | "pkcs1" | "sec1";
  format?: "pem" | "der";
  passphrase?: string;
  cipher?: "aes-256-cbc" | "aes-128-cbc" | "des-ede3-cbc";
}

/** A certificate revocation list signed by one of the PKI's CAs. */
export interface TestCrl {
  /** PEM with the `X509 CRL` label OpenSSL and Mosquitto expect. */
  readonly pem: string;
  readonly der: Buffer;
  readonly file: string;
  /** Serials (upper-case hex) listed as revoked. */
  readonly revoked: readonly string[];
}

/** Options of {@link TestPki.createCrl}. */
export interface TestCrlOptions {
  /** Certificates to list as revoked. @default [] */
  revoke?: readonly Pick<TestCertificate, "serial">[];
  /** Which CA signs: the one that issued the leaves by default. */
  issuer?: "root" | "intermediate";
  /** A CRL whose nextUpdate has passed. */
  expired?: boolean;
  /** The reason code written for every revoked entry. @default none */
  reason?: RevocationReason;
}

/** A throwaway certificate authority for tests, built by {@link createTestPki}. */
export interface TestPki extends AsyncDisposable {
  readonly name: string;
  readonly dir: string;
  readonly root: TestCertificate;
  readonly intermediate: TestCertificate | undefined;
  /** The root certificate, PEM: what a trust store holds. */
  readonly caPem: string;
  /** Path of the root certificate file. */
  readonly caFile: string;
  /** Server leaf for `localhost`, 127.0.0.1 and ::1 (throws if the PKI was made with `defaultLeaves: false`). */
  readonly server: TestLeaf;
  /** Client leaf with CN `client` (throws if the PKI was made with `defaultLeaves: false`). */
  readonly client: TestLeaf;
  issueServer(options?: TestLeafOptions): Promise<TestLeaf>;
  issueClient(options?: TestLeafOptions): Promise<TestLeaf>;
  createCrl(options?: TestCrlOptions): Promise<TestCrl>;
  /** Removes the folder if the PKI created it. */
  cleanup(): Promise<void>;
}

interface Signer extends Issuer {
  readonly name: string;
}

function spkiPin(publicKey: KeyObject): string {
  const spki = publicKey.export({ type: "spki", format: "der" });
  return `sha256/${createHash("sha256").update(spki).digest("base64")}`;
}

function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "_");
}

function exportKeyAs(pair: KeyPair, options: KeyExportOptions = {}): string | Buffer {
  const { encoding = "pkcs8", format = "pem", passphrase, cipher = "aes-256-cbc" } = options;
  if (encoding === "pkcs1" && !pair.type.startsWith("rsa")) {
    throw new TypeError(`PKCS#1 holds RSA keys only, this key is ${pair.type}`);
  }
  if (encoding === "sec1" && !pair.type.startsWith("ec")) {
    throw new TypeError(`SEC1 holds EC keys only, this key is ${pair.type}`);
  }
  if (passphrase !== undefined) {
    if (encoding !== "pkcs8") throw new TypeError("an encrypted key is written as PKCS#8");
    return format === "der"
      ? pair.privateKey.export({ type: "pkcs8", format, cipher, passphrase })
      : pair.privateKey.export({ type: "pkcs8", format, cipher, passphrase });
  }
  return format === "der"
    ? pair.privateKey.export({ type: encoding, format })
    : pair.privateKey.export({ type: encoding, format });
}

/** Temporary PKI folders not cleaned up yet: removed when the process exits, whatever the test forgot. */
const forgotten = new Set<string>();
process.once("exit", () => {
  for (const dir of forgotten) rmSync(dir, { recursive: true, force: true });
});

let owner: { uid: number; gid: number } | null | undefined;
/** Mosquitto's own user when this process is root (Mosquitto switches to it), else nothing to change. */
function mosquittoOwner(): { uid: number; gid: number } | undefined {
  if (owner === undefined) {
    owner = null;
    if (process.getuid?.() === 0) {
      const line = readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .find((entry) => entry.startsWith("mosquitto:"));
      const [, , uid, gid] = line?.split(":") ?? [];
      if (uid !== undefined && gid !== undefined) owner = { uid: Number(uid), gid: Number(gid) };
    }
  }
  return owner ?? undefined;
}

/**
 * Builds a throwaway PKI at test time: a root CA, an optional intermediate, and server/client leaves in every
 * shape the field produces (RSA 1024–3072, P-256/P-384, Ed25519; expired, not yet valid, wrong name, no SAN,
 * wrong or missing EKU, SHA-1; PKCS#1/SEC1/PKCS#8/encrypted keys, DER, PKCS#12; CRLs). No openssl CLI involved.
 *
 * @example
 * ```ts
 * await using pki = await createTestPki({ keyType: "rsa2048", intermediate: true });
 * const expired = await pki.issueClient({ name: "old-plc", expired: true });
 * const crl = await pki.createCrl({ revoke: [expired] });
 * ```
 * @throws {TypeError} for impossible combinations (SHA-1 with an Ed25519 issuer, PKCS#1 for an EC key).
 */
export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const x509 = await loadX509();
  const name = options.name ?? "test";
  const keyType = options.keyType ?? "ec-p256";
  const caKeyType = options.caKeyType ?? keyType;
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "mqtt-tls-pki-")));
  await mkdir(dir, { recursive: true });
  // Private keys stay private: the folder is 0700 and every file 0600. Mosquitto started as root drops to its
  // own user, so there the folder and files belong to that user (root reads them all the same).
  await chmod(dir, 0o700);
  // Root without the right to change owners (a container without CAP_CHOWN) keeps the files as they are.
  let owner = mosquittoOwner();
  if (owner) await chown(dir, owner.uid, owner.gid).catch(() => (owner = undefined));
  if (ownsDir) forgotten.add(dir);
  const suffix = randomBytes(3).toString("hex");
  const usedFileNames = new Set<string>();

  async function write(fileName: string, contents: string | Uint8Array): Promise<string> {
    const path = join(dir, fileName);
    await writeFile(path, contents, { mode: 0o600 });
    if (owner) await chown(path, owner.uid, owner.gid);
    return path;
  }

  function uniqueBase(base: string): string {
    let candidate = safeFileName(base);
    for (let i = 2; usedFileNames.has(candidate); i++) candidate = `${safeFileName(base)}-${i}`;
    usedFileNames.add(candidate);
    return candidate;
  }

  async function sign(params: {
    subject: string;
    pair: KeyPair;
    issuer: Signer | undefined;
    notBefore: Date;
    notAfter: Date;
    extensions: X509.Extension[];
    hash?: SignatureHash;
  }): Promise<X509.X509Certificate> {
    return signCertificate({
      subject: params.subject,
      publicKey: params.pair.publicKey,
      keyType: params.pair.type,
      issuer: params.issuer,
      signingPair: params.pair,
      notBefore: params.notBefore,
      notAfter: params.notAfter,
      extensions: params.extensions,
      hash: params.hash,
    });
  }

  async function describe(
    cn: string,
    pair: KeyPair,
    cert: X509.X509Certificate,
    fileBase: string,
  ): Promise<TestCertificate> {
    const certPem = await toPem(cert.rawData, "CERTIFICATE");
    const keyPem = exportKeyAs(pair) as string;
    const node = new X509Certificate(certPem);
    return {
      name: cn,
      keyType: pair.type,
      serial: node.serialNumber.toUpperCase(),
      subject: node.subject.split("\n").join(", "),
      cert: certPem,
      certDer: node.raw,
      key: keyPem,
      keyObject: pair.privateKey,
      fingerprint256: node.fingerprint256,
      spkiPin: spkiPin(pair.publicKey),
      files: { cert: await write(`${fileBase}.crt`, certPem), key: await write(`${fileBase}.key`, keyPem) },
    };
  }

  const now = Date.now();
  const caDays = options.caDays ?? 3650;
  const caUsage = new x509.KeyUsagesExtension(
    x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    true,
  );

  const rootPair = await cachedKeyPair(caKeyType, `${name}:root`);
  const rootCn = `${name} Root CA`;
  const rootCert = await sign({
    subject: `CN=${rootCn}, O=mqtt-tls test PKI ${suffix}`,
    pair: rootPair,
    issuer: undefined,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + caDays * DAY),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), caUsage],
  });
  const rootSigner: Signer = { name: rootCn, pair: rootPair, cert: rootCert };
  const root = await describe(rootCn, rootPair, rootCert, uniqueBase("root-ca"));

  let intermediate: TestCertificate | undefined;
  let intermediateSigner: Signer | undefined;
  if (options.intermediate) {
    const spec = options.intermediate === true ? {} : options.intermediate;
    const isCa = spec.ca ?? true;
    const pair = await cachedKeyPair(spec.keyType ?? caKeyType, `${name}:intermediate`);
    const cn = `${name} Intermediate CA`;
    const cert = await sign({
      subject: `CN=${cn}, O=mqtt-tls test PKI ${suffix}`,
      pair,
      issuer: rootSigner,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + caDays * DAY),
      extensions: [
        new x509.BasicConstraintsExtension(isCa, isCa ? 0 : undefined, true),
        isCa
          ? caUsage
          : new x509.KeyUsagesExtension(
              x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
              true,
            ),
      ],
    });
    intermediateSigner = { name: cn, pair, cert };
    intermediate = await describe(cn, pair, cert, uniqueBase("intermediate-ca"));
  }
  const leafIssuer = intermediateSigner ?? rootSigner;

  async function issue(role: "server" | "client", leafOptions: TestLeafOptions = {}): Promise<TestLeaf> {
    const cn = leafOptions.wrongName
      ? "wrong.example"
      : (leafOptions.name ?? (role === "server" ? "localhost" : "client"));
    const type = leafOptions.keyType ?? keyType;
    const pair = await cachedKeyPair(type, `${name}:${leafOptions.keySlot ?? `${role}:${cn}`}`);
    const issuedAt = Date.now();
    let notBefore = new Date(issuedAt - 60 * 60_000);
    let notAfter = new Date(issuedAt + (leafOptions.days ?? 365) * DAY);
    if (leafOptions.expired) {
      notBefore = new Date(issuedAt - 30 * DAY);
      notAfter = new Date(issuedAt - DAY);
    } else if (leafOptions.notYetValid) {
      notBefore = new Date(issuedAt + DAY);
      notAfter = new Date(issuedAt + 30 * DAY);
    }

    const extensions: X509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];
    let usage = x509.KeyUsageFlags.digitalSignature;
    if (type.startsWith("rsa")) usage |= x509.KeyUsageFlags.keyEncipherment;
    extensions.push(new x509.KeyUsagesExtension(usage, true));
    const eku = leafOptions.eku ?? [role === "server" ? "serverAuth" : "clientAuth"];
    if (eku.length > 0) {
      extensions.push(new x509.ExtendedKeyUsageExtension(eku.map((e) => x509.ExtendedKeyUsage[e])));
    }
    if (!leafOptions.noSan) {
      const names: X509.JsonGeneralName[] = [];
      if (leafOptions.wrongName) {
        names.push({ type: "dns", value: "wrong.example" });
      } else {
        const dns = role === "server" ? ["localhost", ...(leafOptions.dns ?? [])] : (leafOptions.dns ?? []);
        const ip =
          role === "server" ? ["127.0.0.1", "::1", ...(leafOptions.ip ?? [])] : (leafOptions.ip ?? []);
        if (role === "server" && cn !== "localhost" && !dns.includes(cn)) dns.push(cn);
        for (const value of new Set(dns)) names.push({ type: "dns", value });
        for (const value of new Set(ip)) names.push({ type: "ip", value });
      }
      if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
    }

    extensions.push(...(leafOptions.extensions ?? []));
    const cert = await sign({
      subject: `CN=${cn}, O=mqtt-tls test ${role}`,
      pair,
      issuer: leafIssuer,
      notBefore,
      notAfter,
      extensions,
      ...(leafOptions.signatureHash ? { hash: leafOptions.signatureHash } : {}),
    });
    const base = uniqueBase(`${role}-${cn}`);
    const described = await describe(cn, pair, cert, base);
    const chain = described.cert + (intermediate?.cert ?? "");
    const chainFile = await write(`${base}-chain.crt`, chain);
    const intermediates = intermediate ? [intermediate.certDer] : [];

    function exportKey(options: KeyExportOptions & { format: "der" }): Buffer;
    function exportKey(options?: KeyExportOptions & { format?: "pem" }): string;
    function exportKey(options?: KeyExportOptions): string | Buffer {
      return exportKeyAs(pair, options);
    }

    return {
      ...described,
      role,
      chain,
      files: { ...described.files, chain: chainFile },
      exportKey,
      toPkcs12: (p12Options) =>
        toPkcs12(
          { key: pair.privateKey, certs: [described.certDer, ...intermediates], friendlyName: cn },
          p12Options,
        ),
      writeFile: (fileName, contents) => write(safeFileName(fileName), contents),
    };
  }

  async function createCrl(crlOptions: TestCrlOptions = {}): Promise<TestCrl> {
    const signer = crlOptions.issuer === "root" ? rootSigner : leafIssuer;
    if (crlOptions.issuer === "intermediate" && !intermediateSigner) {
      throw new PkiError("PKI_BAD_REQUEST", "this PKI has no intermediate CA", {
        remedy: "Create the PKI with intermediate: true, or sign the CRL with the root.",
      });
    }
    const issued = Date.now();
    const revoked = (crlOptions.revoke ?? []).map((c) => c.serial);
    const crl = await signCrl({
      issuer: signer,
      thisUpdate: new Date(issued - (crlOptions.expired ? 10 * DAY : 60_000)),
      nextUpdate: new Date(issued + (crlOptions.expired ? -DAY : 7 * DAY)),
      revoked: revoked.map((serial) => ({
        serial,
        date: new Date(issued - 60_000),
        reason: crlOptions.reason,
      })),
    });
    const der = Buffer.from(crl.rawData);
    const pem = await toPem(der, "X509 CRL");
    return { pem, der, revoked, file: await write(`${uniqueBase("crl")}.pem`, pem) };
  }

  const defaults =
    options.defaultLeaves === false
      ? undefined
      : { server: await issue("server"), client: await issue("client") };

  function requireDefault(role: "server" | "client"): TestLeaf {
    if (!defaults)
      throw new PkiError(
        "PKI_BAD_REQUEST",
        `this PKI was created with defaultLeaves: false; call issue${role === "server" ? "Server" : "Client"}()`,
      );
    return defaults[role];
  }

  async function cleanup(): Promise<void> {
    if (!ownsDir) return;
    await rm(dir, { recursive: true, force: true });
    forgotten.delete(dir);
  }

  return {
    name,
    dir,
    root,
    intermediate,
    caPem: root.cert,
    caFile: root.files.cert,
    get server() {
      return requireDefault("server");
    },
    get client() {
      return requireDefault("client");
    },
    issueServer: (o) => issue("server", o),
    issueClient: (o) => issue("client", o),
    createCrl,
    cleanup,
    [Symbol.asyncDispose]: cleanup,
  };
}
