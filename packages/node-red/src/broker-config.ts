import { createFinding, type Finding } from "@proj/findings";
import { readUpload, type UploadContents, type UploadSlot } from "./uploads.js";

/** How a file field of the configuration names an upload kept in the node's credentials: `upload:<file name>`. */
export const UPLOAD_PREFIX = "upload:";

/**
 * The credentials of an mqtt-tls-broker node: the broker password, the key passphrase, and each uploaded file
 * (base64 of its bytes). All are Node-RED `password` credentials, so none is ever sent back to the editor.
 */
export interface BrokerCredentials {
  password?: string;
  passphrase?: string;
  trustStore?: string;
  certificate?: string;
  privateKey?: string;
  pkcs12?: string;
}

/** The credential fields of the mqtt-tls-broker node, as Node-RED's `registerType` takes them. */
export const BROKER_CREDENTIALS = {
  password: { type: "password" },
  passphrase: { type: "password" },
  trustStore: { type: "password" },
  certificate: { type: "password" },
  privateKey: { type: "password" },
  pkcs12: { type: "password" },
} as const satisfies Record<keyof BrokerCredentials, { type: "password" }>;

/** The configuration a connection takes, and what turning the node's uploads into it found. */
export interface BuiltConfig {
  readonly config: Record<string, unknown>;
  readonly findings: Finding[];
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Turns an mqtt-tls-broker node's `config` property (the section 3 configuration, with `upload:NAME` where a file
 * was uploaded) and its credentials into the configuration `loadConfig` takes: uploads become inline PEM (DER
 * converted, PKCS#12 opened), the password and passphrase are put in their places. The input is not changed.
 *
 * @example
 * ```ts
 * const { config, findings } = configFromBrokerNode(
 *   { broker: { url: "mqtts://broker.local:8883" }, security: { trustStore: ["upload:ca.der"] } },
 *   { trustStore: (await readFile("ca.der")).toString("base64") },
 * );
 * ```
 */
export function configFromBrokerNode(input: unknown, credentials: BrokerCredentials = {}): BuiltConfig {
  const config: Json = isObject(input) ? structuredClone<Json>(input) : {};
  const findings: Finding[] = [];
  const broker = isObject(config.broker) ? config.broker : (config.broker = {});
  if (credentials.password && broker.password === undefined) broker.password = credentials.password;

  const security = isObject(config.security) ? config.security : undefined;
  if (!security) return { config, findings };
  const passphrase = credentials.passphrase || undefined;

  const upload = (value: unknown, slot: UploadSlot, path: string): UploadContents | undefined => {
    if (typeof value !== "string" || !value.startsWith(UPLOAD_PREFIX)) return undefined;
    const name = value.slice(UPLOAD_PREFIX.length) || slot;
    const base64 = credentials[slot];
    if (!base64) {
      findings.push(
        createFinding("FILE_NOT_FOUND", "error", `The upload ${name} is not there: it was never deployed.`, {
          path,
          remedy: "Upload the file again in the broker node's editor, then Deploy.",
        }),
      );
      return { format: "empty", findings: [] };
    }
    const read = readUpload(Buffer.from(base64, "base64"), slot, { name, passphrase, path });
    findings.push(...read.findings);
    return read;
  };

  if (Array.isArray(security.trustStore)) {
    security.trustStore = security.trustStore.flatMap((entry: unknown, i) => {
      const read = upload(entry, "trustStore", `security.trustStore[${i}]`);
      if (!read) return [entry];
      return read.certificates ? [read.certificates] : [];
    });
  } else if (typeof security.trustStore === "string") {
    const read = upload(security.trustStore, "trustStore", "security.trustStore");
    if (read) security.trustStore = read.certificates ? [read.certificates] : [];
  }

  const keyStore = security.keyStore;
  if (isObject(keyStore)) {
    const bundle = upload(keyStore.pkcs12, "pkcs12", "security.keyStore.pkcs12");
    if (bundle) {
      delete keyStore.pkcs12;
      delete keyStore.passphrase;
      // The bundle's key comes out unencrypted (kept in memory only), so no passphrase goes with it.
      if (bundle.certificates) keyStore.certificate = bundle.certificates;
      if (bundle.privateKey) keyStore.privateKey = bundle.privateKey;
    } else {
      const cert = upload(keyStore.certificate, "certificate", "security.keyStore.certificate");
      let keyFromBundle = false;
      if (cert) {
        if (cert.certificates) keyStore.certificate = cert.certificates;
        else delete keyStore.certificate;
        // A PKCS#12 bundle uploaded as the certificate brings its key when no key file was uploaded.
        if (cert.privateKey && keyStore.privateKey === undefined) {
          keyStore.privateKey = cert.privateKey;
          keyFromBundle = true;
        }
      }
      const key = upload(keyStore.privateKey, "privateKey", "security.keyStore.privateKey");
      if (key) {
        if (key.privateKey) keyStore.privateKey = key.privateKey;
        else delete keyStore.privateKey;
      }
      if (passphrase && !keyFromBundle && keyStore.passphrase === undefined) keyStore.passphrase = passphrase;
    }
  }
  return { config, findings };
}
