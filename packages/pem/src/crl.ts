import { AsnParser } from "@peculiar/asn1-schema";
import { CertificateList } from "@peculiar/asn1-x509";
import { describeName } from "./certificate.js";
import { PemError } from "./errors.js";
import { parsePem } from "./parse-pem.js";

/** What a CRL says, from {@link inspectCrl}. */
export interface CrlInfo {
  /** The issuer in one line (`CN=Plant CA, O=...`). */
  readonly issuer: string;
  readonly thisUpdate: Date;
  /** When the next CRL is due; past it the CRL is stale. */
  readonly nextUpdate: Date | undefined;
  /** Revoked serial numbers, upper-case hex. */
  readonly revokedSerials: readonly string[];
  readonly der: Buffer;
  readonly pem: string;
}

/**
 * Reads the first CRL of a PEM (or DER) input.
 *
 * @example
 * ```ts
 * const crl = inspectCrl(await readFile("plant-ca.crl", "utf8"));
 * if (crl.nextUpdate && crl.nextUpdate < new Date()) console.log("the CRL is stale");
 * ```
 * @throws {PemError} `NOT_PEM_DER` for a DER CRL given where PEM is required, `NOT_PEM`, `PEM_MALFORMED` or
 * `PEM_UNEXPECTED_BLOCK` when there is no readable CRL.
 */
export function inspectCrl(input: string | Uint8Array): CrlInfo {
  return inspectCrls(input)[0]!;
}

/**
 * Reads every CRL of a PEM (or DER) input, in order: a CA's CRL file often holds its parents' too (a lab CA's
 * `crl.pem` holds the issuing CA's and the root's), and a verifier that checks the whole chain needs them all.
 *
 * @example
 * ```ts
 * for (const crl of inspectCrls(await readFile("lab-pki/crl.pem"))) console.log(crl.issuer, crl.revokedSerials);
 * ```
 * @throws {PemError} as {@link inspectCrl}, when there is no readable CRL at all.
 */
export function inspectCrls(input: string | Uint8Array): CrlInfo[] {
  const { blocks, findings } = parsePem(input);
  const crlBlocks = blocks.filter((b) => b.type === "crl");
  if (crlBlocks.length === 0) {
    const problem = findings.find((f) => f.severity === "error");
    const code =
      problem?.code === "NOT_PEM_DER" || problem?.code === "PEM_MALFORMED"
        ? problem.code
        : blocks.length > 0
          ? "PEM_UNEXPECTED_BLOCK"
          : "NOT_PEM";
    throw new PemError(code, problem?.message ?? "no X509 CRL block in the input", {
      remedy: problem?.remedy ?? "Give the CRL as PEM (-----BEGIN X509 CRL-----).",
    });
  }
  return crlBlocks.map((block) => {
    let list: CertificateList;
    try {
      list = AsnParser.parse(block.der, CertificateList);
    } catch (cause) {
      throw new PemError("PEM_MALFORMED", `the CRL at line ${block.line} does not decode`, { cause });
    }
    const tbs = list.tbsCertList;
    return {
      issuer: describeName(tbs.issuer).oneLine,
      thisUpdate: tbs.thisUpdate.getTime(),
      nextUpdate: tbs.nextUpdate?.getTime(),
      revokedSerials: (tbs.revokedCertificates ?? []).map((r) =>
        Buffer.from(r.userCertificate)
          .toString("hex")
          .toUpperCase()
          .replace(/^(00)+(?=..)/, ""),
      ),
      der: block.der,
      pem: block.pem,
    };
  });
}
