/**
 * The path-validation decisions the package README lists, one test each, on certificates built here with exactly
 * the extension in question (RFC 5280 and, where stricter, the CA/Browser Forum Baseline Requirements).
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  GeneralName,
  GeneralSubtree,
  GeneralSubtrees,
  Name as AsnName,
  NameConstraints,
} from "@peculiar/asn1-x509";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { generateKeyPair, signCertificate, type KeyPair } from "@proj/pki";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyChain, type Finding } from "../src/index.js";

interface Issued {
  readonly pem: string;
  readonly cert: x509.X509Certificate;
  readonly pair: KeyPair;
}

/** One certificate with the given extensions (plus key identifiers), from @proj/pki; self-signed without an issuer. */
async function issue(subject: string, extensions: x509.Extension[], issuer?: Issued): Promise<Issued> {
  const pair = await generateKeyPair("ec-p256");
  const cert = await signCertificate({
    subject,
    publicKey: pair.publicKey,
    keyType: pair.type,
    issuer: issuer && { cert: issuer.cert, pair: issuer.pair },
    signingPair: pair,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 86_400_000 * 30),
    extensions,
  });
  return { pem: cert.toString("pem"), cert, pair };
}

const caExtensions = (pathLength?: number): x509.Extension[] => [
  new x509.BasicConstraintsExtension(true, pathLength, true),
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
];

interface LeafShape {
  readonly san?: x509.JsonGeneralNames | null;
  readonly eku?: { readonly usages: string[]; readonly critical: boolean } | null;
  readonly ca?: boolean;
  readonly pathLength?: number;
  readonly extra?: x509.Extension[];
}

function leafExtensions(shape: LeafShape = {}): x509.Extension[] {
  const out: x509.Extension[] = [
    new x509.BasicConstraintsExtension(shape.ca ?? false, shape.pathLength, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | (shape.ca ? x509.KeyUsageFlags.keyCertSign : 0),
      true,
    ),
  ];
  const eku =
    shape.eku === undefined ? { usages: [x509.ExtendedKeyUsage.serverAuth], critical: false } : shape.eku;
  if (eku) out.push(new x509.ExtendedKeyUsageExtension(eku.usages, eku.critical));
  const san = shape.san === undefined ? [{ type: "dns" as const, value: "broker.plant.local" }] : shape.san;
  if (san) out.push(new x509.SubjectAlternativeNameExtension(san));
  return [...out, ...(shape.extra ?? [])];
}

type SubtreeName = { dns: string } | { ip: string } | { dn: string };

function generalName(name: SubtreeName): GeneralName {
  if ("dns" in name) return new GeneralName({ dNSName: name.dns });
  if ("ip" in name) return new GeneralName({ iPAddress: name.ip }); // "10.0.0.0/8": address and mask
  return new GeneralName({
    directoryName: AsnConvert.parse(new x509.Name(name.dn).toArrayBuffer(), AsnName),
  });
}

/** A nameConstraints extension; `permitted: []` writes a present but empty list, as a broken CA might. */
function nameConstraints(
  parts: { permitted?: SubtreeName[]; excluded?: SubtreeName[] },
  critical = true,
): x509.Extension {
  const subtrees = (names: SubtreeName[]) =>
    new GeneralSubtrees(names.map((n) => new GeneralSubtree({ base: generalName(n) })));
  const value = new NameConstraints({
    ...(parts.permitted ? { permittedSubtrees: subtrees(parts.permitted) } : {}),
    ...(parts.excluded ? { excludedSubtrees: subtrees(parts.excluded) } : {}),
  });
  return new x509.Extension("2.5.29.30", critical, AsnConvert.serialize(value));
}

function verify(leaf: Issued, intermediates: Issued[], root: Issued, strict: boolean, host?: string) {
  return verifyChain({
    leaf: leaf.pem,
    intermediates: intermediates.map((i) => i.pem),
    trusted: [root.pem],
    purpose: "server",
    strict,
    ...(host ? { peerName: { kind: "DNS" as const, value: host } } : {}),
  });
}

const errors = (findings: readonly Finding[]) =>
  findings.filter((f) => f.severity === "error").map((f) => f.code);
const warnings = (findings: readonly Finding[]) =>
  findings.filter((f) => f.severity === "warning").map((f) => f.code);

let root: Issued;
beforeAll(async () => {
  root = await issue("CN=Plant Root CA, O=Plant", caExtensions());
});

async function constrainedCa(extension: x509.Extension): Promise<Issued> {
  return issue("CN=Plant Issuing CA, O=Plant", [...caExtensions(), extension], root);
}

describe("name constraints", () => {
  it("are applied whether critical or not; not critical is refused when strict (RFC 5280 requires critical)", async () => {
    for (const critical of [true, false]) {
      const ca = await constrainedCa(nameConstraints({ permitted: [{ dns: "plant.local" }] }, critical));
      const inside = await issue("CN=broker", leafExtensions(), ca);
      const outside = await issue(
        "CN=broker",
        leafExtensions({ san: [{ type: "dns", value: "broker.other.local" }] }),
        ca,
      );
      expect(errors(verify(outside, [ca], root, false).findings)).toEqual(["NAME_CONSTRAINTS_VIOLATED"]);
      const strict = verify(inside, [ca], root, true);
      const lax = verify(inside, [ca], root, false);
      if (critical) {
        expect(strict).toMatchObject({ ok: true, findings: [] });
      } else {
        expect(errors(strict.findings)).toEqual(["CERT_EXTENSION_INVALID"]);
        expect(strict.findings[0]!.message).toMatch(/nameConstraints not marked critical/);
        expect(lax.ok).toBe(true);
        expect(warnings(lax.findings)).toEqual(["CERT_EXTENSION_INVALID"]);
      }
    }
  });

  it("in an end-entity certificate are refused (only a CA may carry them), and constrain nothing", async () => {
    for (const critical of [true, false]) {
      const leaf = await issue(
        "CN=broker",
        leafExtensions({ extra: [nameConstraints({ permitted: [{ dns: "other.local" }] }, critical)] }),
        root,
      );
      const result = verify(leaf, [], root, true, "broker.plant.local");
      expect(errors(result.findings)).toEqual(["CERT_EXTENSION_INVALID"]);
      expect(result.findings[0]!.message).toMatch(/carries nameConstraints, which only a CA certificate may/);
      expect(warnings(verify(leaf, [], root, false, "broker.plant.local").findings)).toEqual([
        "CERT_EXTENSION_INVALID",
      ]);
    }
  });

  it("refuse a SAN that is not a valid name under a constraint of its kind, and only then", async () => {
    const ca = await constrainedCa(nameConstraints({ permitted: [{ dns: "plant.local" }] }));
    for (const bad of [".plant.local", "bad name.plant.local", "broker..plant.local"]) {
      const leaf = await issue(
        "CN=broker",
        leafExtensions({
          san: [
            { type: "dns", value: bad },
            { type: "dns", value: "broker.plant.local" },
          ],
        }),
        ca,
      );
      const result = verify(leaf, [ca], root, false, "broker.plant.local");
      expect(errors(result.findings)).toEqual(["NAME_CONSTRAINTS_VIOLATED"]);
      expect(result.findings[0]!.message).toContain(`"${bad}" is not a valid host name`);
    }
    // An address range where an address belongs, under an IP constraint.
    const ipCa = await constrainedCa(nameConstraints({ permitted: [{ ip: "192.0.2.0/24" }] }));
    const range = await issue(
      "CN=broker",
      leafExtensions({
        san: [
          { type: "ip", value: "192.0.2.0/24" },
          { type: "ip", value: "192.0.2.1" },
        ],
      }),
      ipCa,
    );
    const ranged = verifyChain({
      leaf: range.pem,
      intermediates: [ipCa.pem],
      trusted: [root.pem],
      purpose: "server",
      peerName: { kind: "IP", value: "192.0.2.1" },
    });
    expect(errors(ranged.findings)).toContain("NAME_CONSTRAINTS_VIOLATED");
    expect(ranged.findings.find((f) => f.code === "NAME_CONSTRAINTS_VIOLATED")!.message).toContain(
      "is not an address",
    );
    // Under an IP-only constraint, a malformed DNS name is not the constraint's business.
    const ipOnly = await constrainedCa(nameConstraints({ excluded: [{ ip: "10.0.0.0/8" }] }));
    const odd = await issue(
      "CN=broker",
      leafExtensions({
        san: [
          { type: "dns", value: ".plant.local" },
          { type: "dns", value: "broker.plant.local" },
        ],
      }),
      ipOnly,
    );
    expect(errors(verify(odd, [ipOnly], root, false, "broker.plant.local").findings)).not.toContain(
      "NAME_CONSTRAINTS_VIOLATED",
    );
  });

  it("with an empty permitted list, or with neither list, are invalid and refused", async () => {
    for (const parts of [{ permitted: [] }, { excluded: [] }, {}]) {
      const ca = await constrainedCa(nameConstraints(parts));
      const leaf = await issue("CN=broker", leafExtensions(), ca);
      const result = verify(leaf, [ca], root, false, "broker.plant.local");
      expect(errors(result.findings)).toEqual(["NAME_CONSTRAINTS_VIOLATED"]);
      expect(result.findings[0]!.message).toMatch(
        /invalid name constraints: (its \w+ subtrees are empty|it holds neither)/,
      );
    }
  });

  it("on directoryName apply to the subject and to directoryName SANs", async () => {
    const ca = await constrainedCa(nameConstraints({ permitted: [{ dn: "O=Plant" }] }));
    const inside = await issue("O=Plant, CN=broker", leafExtensions(), ca);
    const outside = await issue("O=Elsewhere, CN=broker", leafExtensions(), ca);
    const sanOutside = await issue(
      "O=Plant, CN=broker",
      leafExtensions({
        san: [
          { type: "dns", value: "broker.plant.local" },
          { type: "dn", value: "O=Elsewhere, CN=broker" },
        ],
      }),
      ca,
    );
    expect(verify(inside, [ca], root, true, "broker.plant.local")).toMatchObject({ ok: true, findings: [] });
    expect(errors(verify(outside, [ca], root, true, "broker.plant.local").findings)).toEqual([
      "NAME_CONSTRAINTS_VIOLATED",
    ]);
    expect(errors(verify(sanOutside, [ca], root, true, "broker.plant.local").findings)).toEqual([
      "NAME_CONSTRAINTS_VIOLATED",
    ]);
  });

  it("check a leaf whose only name is its subject: its CN is a host name wherever the host is matched against it", async () => {
    const ca = await constrainedCa(nameConstraints({ permitted: [{ dns: "plant.local" }] }));
    const inside = await issue("CN=broker.plant.local", leafExtensions({ san: null }), ca);
    const outside = await issue("CN=broker.other.local", leafExtensions({ san: null }), ca);
    // Not strict, the host is matched against the CN (as OpenSSL does), so the CN must be inside the constraints.
    const lax = verify(outside, [ca], root, false, "broker.other.local");
    expect(errors(lax.findings)).toEqual(["NAME_CONSTRAINTS_VIOLATED"]);
    expect(verify(inside, [ca], root, false, "broker.plant.local").ok).toBe(true);
    // Strict, the CN names no host: the missing SAN is the finding, the constraints have nothing to check.
    const strict = verify(outside, [ca], root, true, "broker.other.local");
    expect(errors(strict.findings)).toEqual(["CERT_NO_SAN", "CERT_NAME_MISMATCH"]);
  });
});

describe("end-entity extensions", () => {
  it("a critical extendedKeyUsage is honoured, and refused when strict (CA/Browser Forum: must not be critical)", async () => {
    const critical = await issue(
      "CN=broker",
      leafExtensions({ eku: { usages: [x509.ExtendedKeyUsage.serverAuth], critical: true } }),
      root,
    );
    const wrongPurpose = await issue(
      "CN=plc",
      leafExtensions({ eku: { usages: [x509.ExtendedKeyUsage.clientAuth], critical: true } }),
      root,
    );
    expect(errors(verify(critical, [], root, true, "broker.plant.local").findings)).toEqual([
      "CERT_EXTENSION_INVALID",
    ]);
    const lax = verify(critical, [], root, false, "broker.plant.local");
    expect(lax.ok).toBe(true);
    expect(warnings(lax.findings)).toEqual(["CERT_EXTENSION_INVALID"]);
    expect(errors(verify(wrongPurpose, [], root, false, "broker.plant.local").findings)).toContain(
      "EKU_MISMATCH",
    );
  });

  it("no extendedKeyUsage is refused when strict (CA/Browser Forum), accepted with a warning otherwise (RFC 5280: any purpose)", async () => {
    const leaf = await issue("CN=broker", leafExtensions({ eku: null }), root);
    expect(errors(verify(leaf, [], root, true, "broker.plant.local").findings)).toEqual(["EKU_MISMATCH"]);
    const lax = verify(leaf, [], root, false, "broker.plant.local");
    expect(lax.ok).toBe(true);
    expect(warnings(lax.findings)).toEqual(["EKU_MISMATCH"]);
  });

  it("a CA certificate as the end entity is refused when strict, and its pathLenConstraint counts for nothing", async () => {
    const caLeaf = await issue("CN=broker", leafExtensions({ ca: true, pathLength: 0 }), root);
    const strict = verify(caLeaf, [], root, true, "broker.plant.local");
    expect(errors(strict.findings)).toEqual(["CERT_CA_AS_LEAF"]);
    expect(verify(caLeaf, [], root, false, "broker.plant.local").ok).toBe(true);
  });

  it("a pathLenConstraint in a certificate that is not a CA is refused when strict", async () => {
    const leaf = await issue("CN=broker", leafExtensions({ pathLength: 1 }), root);
    const strict = verify(leaf, [], root, true, "broker.plant.local");
    expect(errors(strict.findings)).toEqual(["CERT_EXTENSION_INVALID"]);
    expect(strict.findings[0]!.message).toMatch(/pathLenConstraint without being a CA/);
  });
});

describe("pathLenConstraint", () => {
  it("limits the intermediates below a CA, not counting self-issued ones, and a lower CA cannot raise it", async () => {
    const zero = await issue("CN=Zero CA, O=Plant", caExtensions(0), root);
    const leafOfZero = await issue("CN=broker", leafExtensions(), zero);
    expect(verify(leafOfZero, [zero], root, true, "broker.plant.local")).toMatchObject({ ok: true });

    const below = await issue("CN=Below CA, O=Plant", caExtensions(5), zero);
    const leafOfBelow = await issue("CN=broker", leafExtensions(), below);
    const exceeded = verify(leafOfBelow, [below, zero], root, true, "broker.plant.local");
    expect(errors(exceeded.findings)).toEqual(["PATH_LEN_EXCEEDED"]);
    expect(exceeded.findings[0]!.message).toContain('"CN=Zero CA, O=Plant" allows 0 intermediate(s)');

    // A key rollover: the same CA name re-issued by itself with a new key is self-issued and does not count.
    const rolled = await issue("CN=Zero CA, O=Plant", caExtensions(0), zero);
    const leafOfRolled = await issue("CN=broker", leafExtensions(), rolled);
    expect(verify(leafOfRolled, [rolled, zero], root, true, "broker.plant.local")).toMatchObject({
      ok: true,
    });
  });
});
