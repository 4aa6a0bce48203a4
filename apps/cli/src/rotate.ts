import { createFinding, type Finding } from "@proj/findings";
import { readCertificateHeader } from "@proj/pem";
import { createCsr, keyTypeOf, signLabCsr, type KeyType } from "@proj/pki";
import { loadConfig, type LoadedConfig } from "@proj/security-config";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative } from "node:path";
import { deviceById } from "./devices.js";
import type { CliIo } from "./io.js";

const DAY = 86_400_000;

/** Where a rotated certificate goes: the configuration's files, or a store item (a new version of it). */
type RotationTarget =
  | { readonly kind: "files"; readonly certificate: string; readonly key: string }
  | { readonly kind: "store"; readonly item: string };

/** One device's rotation, planned from its configuration. */
export interface RotationPlan {
  readonly config: string;
  readonly shownAs: string;
  readonly subject: string;
  readonly serial: string;
  readonly notAfter: Date;
  readonly daysLeft: number;
  /** The new key's type: the current one when the device takes it, else the first its adapter supports. */
  readonly keyType: KeyType;
  readonly target: RotationTarget;
}

/** Key types a device profile takes, in the order to prefer. */
function supportedKeyTypes(device: string | undefined): KeyType[] | undefined {
  if (device === undefined) return undefined;
  const profile = deviceById(device).profile;
  return profile.keyTypes.flatMap((k): KeyType[] => {
    if (k.type === "ed25519") return ["ed25519"];
    if (k.type === "ec") {
      const byCurve: Record<string, KeyType> = {
        prime256v1: "ec-p256",
        secp384r1: "ec-p384",
        secp521r1: "ec-p521",
      };
      return k.curves.flatMap((c) => (byCurve[c] ? [byCurve[c]] : []));
    }
    return (["rsa2048", "rsa3072", "rsa4096"] as const).filter((t) => {
      const bits = Number(t.slice(3));
      return bits >= k.minBits && bits <= (k.maxBits ?? Infinity);
    });
  });
}

/** What rotating the configuration at `path` would do, or the finding that says why it cannot be rotated. */
export async function planRotation(
  loaded: LoadedConfig,
  path: string,
  cwd: string,
): Promise<RotationPlan | Finding> {
  const shownAs = relative(cwd, path) || path;
  const input = loaded.input as { device?: unknown; security?: { keyStore?: unknown } } | undefined;
  const keyStore = loaded.resolved?.keyStore;
  const leafPem = keyStore?.chain[0];
  if (!keyStore || !leafPem || keyStore.keyPem === undefined) {
    return createFinding(
      "KEY_STORE_MISSING",
      "error",
      `${shownAs} has no client certificate and key to rotate.`,
      {
        path: shownAs,
      },
    );
  }
  const raw = input?.security?.keyStore;
  let target: RotationTarget;
  if (typeof raw === "string" && raw.startsWith("store:")) {
    target = { kind: "store", item: raw.slice(6) };
  } else {
    const ks = raw as { certificate?: unknown; privateKey?: unknown } | undefined;
    if (
      typeof ks?.certificate !== "string" ||
      typeof ks.privateKey !== "string" ||
      ks.certificate.includes("-----BEGIN ")
    ) {
      return createFinding(
        "FIELD_INVALID",
        "error",
        `${shownAs}: only a key store of certificate and key files, or a store item, can be rotated in place.`,
        {
          path: shownAs,
          remedy: "Point keyStore.certificate and keyStore.privateKey at files, or at store:NAME.",
        },
      );
    }
    const base = dirname(path);
    const abs = (p: string) => (isAbsolute(p) ? p : join(base, p));
    target = { kind: "files", certificate: abs(ks.certificate), key: abs(ks.privateKey) };
  }
  const header = readCertificateHeader(new X509Certificate(leafPem).raw);
  const current = keyTypeOf(createPrivateKey(keyStore.keyPem));
  const allowed = supportedKeyTypes(typeof input?.device === "string" ? input.device : undefined);
  const keyType =
    current !== undefined && (allowed === undefined || allowed.includes(current))
      ? current
      : (allowed?.[0] ?? "ec-p256");
  return {
    config: path,
    shownAs,
    subject: header?.subject ?? "",
    serial: header?.serialNumber ?? "",
    notAfter: header?.notAfter ?? new Date(0),
    daysLeft: Math.floor(((header?.notAfter.getTime() ?? 0) - Date.now()) / DAY),
    keyType,
    target,
  };
}

/** Writes `contents` to `file` by a rename (a reader never sees half a file), keeping the old one as a backup. */
async function replace(file: string, contents: string, mode: number, stamp: string): Promise<string> {
  const backup = `${file}.bak-${stamp}`;
  await copyFile(file, backup);
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, contents, { mode });
  await rename(temporary, file);
  return backup;
}

/** A new chain and key for a plan: from the lab CA, or given (a certificate an external CA signed, and its key). */
export async function issueFor(
  plan: RotationPlan,
  source: { pki: string } | { certificate: string; keyPem: string },
): Promise<{ chain: string; keyPem: string }> {
  if ("certificate" in source) return { chain: source.certificate, keyPem: source.keyPem };
  const request = await createCsr({ subject: plan.subject, keyType: plan.keyType });
  const out = await mkdtemp(join(tmpdir(), "mqtt-tls-rotate-"));
  try {
    const leaf = await signLabCsr({ dir: source.pki, role: "client", csr: request.csr, outDir: out });
    return { chain: await readFile(leaf.chainFile, "utf8"), keyPem: request.keyPem };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/**
 * Checks the new credentials against the broker before anything is switched: the configuration as it is, with
 * the new chain and key in place of the old. `undefined` when the broker accepts them, else the finding.
 */
export async function checkAgainstBroker(
  loaded: LoadedConfig,
  plan: RotationPlan,
  issued: { chain: string; keyPem: string },
  io: CliIo,
): Promise<Finding | undefined> {
  const input = loaded.input as { security?: Record<string, unknown> } & Record<string, unknown>;
  const candidate = {
    ...input,
    security: { ...input.security, keyStore: { certificate: issued.chain, privateKey: issued.keyPem } },
  };
  const { probe } = await import("@proj/mqtt-tls");
  const result = await probe(
    await loadConfig(candidate, {
      baseDir: dirname(plan.config),
      env: io.env,
      ...(loaded.options.store ? { store: loaded.options.store } : {}),
    }),
  );
  return result.connected
    ? undefined
    : (result.findings[0] ??
        createFinding("MQTT_CONNECT_REFUSED", "error", "The broker refused the new credentials."));
}

/** Switches a device to its new credentials: files replaced by a rename (backups kept), or a new store version. */
export async function switchTo(
  plan: RotationPlan,
  issued: { chain: string; keyPem: string },
  addToStore: (item: string, chain: string, keyPem: string) => Promise<number>,
): Promise<{ backups: string[]; version?: number }> {
  if (plan.target.kind === "store") {
    return { backups: [], version: await addToStore(plan.target.item, issued.chain, issued.keyPem) };
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const { certificate, key } = plan.target;
  if (certificate === key)
    return { backups: [await replace(certificate, issued.chain + issued.keyPem, 0o600, stamp)] };
  // The key first: a client that reloads between the two sees a pair that does not match, says so, and reloads
  // again when the certificate lands a moment later.
  const keyBackup = await replace(key, issued.keyPem, 0o600, stamp);
  const certBackup = await replace(certificate, issued.chain, 0o644, stamp);
  return { backups: [certBackup, keyBackup] };
}
