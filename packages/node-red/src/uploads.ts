import { createFinding, type Finding } from "@proj/findings";
import { encodePem, isPemError, parsePem, readPkcs12, type InputFormat } from "@proj/pem";

/** What an upload is for: a trust store, a key store's certificate chain or private key, or a PKCS#12 bundle. */
export type UploadSlot = "trustStore" | "certificate" | "privateKey" | "pkcs12";

/** An upload read as bytes, turned into the PEM the connection takes. */
export interface UploadContents {
  /** What the bytes were. */
  readonly format: InputFormat;
  /** Certificates, PEM (converted from DER or taken out of a PKCS#12 bundle). */
  readonly certificates?: string;
  /** The private key, PEM: as uploaded (still encrypted if it was), or out of a PKCS#12 bundle. Never logged. */
  readonly privateKey?: string;
  /** Errors mean the upload cannot be used; each names the upload, never its contents. */
  readonly findings: Finding[];
}

const DER_LABELS: Partial<Record<string, string>> = {
  certificate: "CERTIFICATE",
  "private-key": "PRIVATE KEY",
  "encrypted-private-key": "ENCRYPTED PRIVATE KEY",
  crl: "X509 CRL",
};

/**
 * Reads an uploaded file as bytes, as the mqtt-tls-broker editor sends it: PEM is taken as it is, DER (or DER in
 * base64) is converted to PEM, and a PKCS#12 bundle is opened with `passphrase` into its chain and key. Anything
 * else is a finding with the conversion to make, never a connection with a corrupted file.
 *
 * @example
 * ```ts
 * const upload = readUpload(await readFile("ca.der"), "trustStore", { name: "ca.der" });
 * upload.certificates; // "-----BEGIN CERTIFICATE-----\n..." (converted from DER)
 * ```
 */
export function readUpload(
  bytes: Uint8Array,
  slot: UploadSlot,
  options: { name: string; passphrase?: string | undefined; path?: string },
): UploadContents {
  const at = options.path === undefined ? {} : { path: options.path };
  const parsed = parsePem(bytes, { source: options.name });
  if (parsed.format === "pkcs12") return readBundle(bytes, slot, options, at);
  if (parsed.format === "pem") {
    const wanted = slot === "privateKey" ? /KEY$/ : /^(CERTIFICATE|TRUSTED CERTIFICATE|X509 CRL)$/;
    const blocks = parsed.blocks.filter((b) => wanted.test(b.label));
    if (blocks.length === 0)
      return {
        format: parsed.format,
        findings: [
          createFinding(
            slot === "privateKey" ? "KEY_STORE_MISSING" : "TRUST_STORE_EMPTY",
            "error",
            `The upload ${options.name} holds no ${slot === "privateKey" ? "private key" : "certificate"} (it has ${parsed.blocks.map((b) => b.label).join(", ") || "no PEM block"}).`,
            {
              ...at,
              remedy: `Upload the file that holds the ${slot === "privateKey" ? "private key" : "certificate"}.`,
            },
          ),
        ],
      };
    const pem = blocks.map((b) => b.pem).join("");
    return slot === "privateKey"
      ? { format: parsed.format, privateKey: pem, findings: [] }
      : { format: parsed.format, certificates: pem, findings: [] };
  }
  if ((parsed.format === "der" || parsed.format === "base64") && parsed.derKind) {
    const label = DER_LABELS[parsed.derKind];
    const isKey = parsed.derKind.endsWith("private-key");
    if (label && isKey === (slot === "privateKey")) {
      const der =
        parsed.format === "base64" ? Buffer.from(Buffer.from(bytes).toString("latin1"), "base64") : bytes;
      const pem = encodePem(der, label);
      return isKey
        ? { format: parsed.format, privateKey: pem, findings: [] }
        : { format: parsed.format, certificates: pem, findings: [] };
    }
  }
  return {
    format: parsed.format,
    findings: parsed.findings
      .filter((f) => f.severity === "error")
      .map((f) => ({ ...f, ...at, message: `The upload ${options.name}: ${f.message}` })),
  };
}

function readBundle(
  bytes: Uint8Array,
  slot: UploadSlot,
  options: { name: string; passphrase?: string | undefined },
  at: { path?: string },
): UploadContents {
  try {
    const bundle = readPkcs12(bytes, options.passphrase ?? "");
    if (slot === "privateKey" && !bundle.key)
      return {
        format: "pkcs12",
        findings: [
          createFinding(
            "KEY_STORE_MISSING",
            "error",
            `The PKCS#12 upload ${options.name} holds no private key.`,
            {
              ...at,
              remedy: "Export the bundle again with its private key.",
            },
          ),
        ],
      };
    return {
      format: "pkcs12",
      certificates: bundle.chain,
      ...(slot !== "trustStore" && bundle.key ? { privateKey: bundle.key } : {}),
      findings: [],
    };
  } catch (error) {
    if (!isPemError(error)) throw error;
    const missing = error.code === "KEY_PASSPHRASE_WRONG" && !options.passphrase;
    return {
      format: "pkcs12",
      findings: [
        createFinding(
          missing ? "KEY_ENCRYPTED_NO_PASSPHRASE" : error.code,
          "error",
          missing
            ? `The PKCS#12 upload ${options.name} is protected by a passphrase and none is given.`
            : `The PKCS#12 upload ${options.name}: ${error.message}.`,
          {
            ...at,
            remedy: missing ? "Type the bundle's passphrase in the Passphrase field." : error.remedy,
          },
        ),
      ],
    };
  }
}
