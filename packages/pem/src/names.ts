import { AsnParser } from "@peculiar/asn1-schema";
import { Name } from "@peculiar/asn1-x509";
import { isIP } from "node:net";
import { canonicalName } from "./certificate.js";
import { derChildren, readDer, type DerNode } from "./der.js";

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A DNS name as a certificate may hold it: ASCII letter-digit-hyphen labels, optionally `*.` in front.
 *
 * @example
 * ```ts
 * isValidDnsName("broker.plant.local"); // true
 * isValidDnsName("*.plant.local", { wildcard: true }); // true
 * isValidDnsName("😜.example.com"); // false: IDNs must be in their xn-- form
 * ```
 */
export function isValidDnsName(name: string, options: { wildcard?: boolean } = {}): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.toLowerCase().replace(/\.$/, "").split(".");
  return labels.every(
    (label, i) => (options.wildcard === true && i === 0 && label === "*") || LABEL.test(label),
  );
}

/**
 * Whether a dNSName from a certificate matches the host a client connects to, by the strict rules of RFC 6125
 * and the CA/Browser Forum: exact match, or a wildcard that is the whole leftmost label, stands for exactly one
 * label, and is followed by at least two labels (`*.com` matches nothing).
 *
 * @example
 * ```ts
 * matchesDnsName("*.plant.local", "broker.plant.local"); // true
 * matchesDnsName("*.plant.local", "a.broker.plant.local"); // false: one label only
 * matchesDnsName("*.plant.local", "plant.local"); // false
 * ```
 */
export function matchesDnsName(presented: string, reference: string): boolean {
  const p = presented.toLowerCase().replace(/\.$/, "");
  const r = reference.toLowerCase().replace(/\.$/, "");
  if (!isValidDnsName(p, { wildcard: true }) || !isValidDnsName(r)) return false;
  if (!p.startsWith("*.")) return p === r;
  const suffix = p.slice(2);
  if (suffix.split(".").length < 2) return false;
  const dot = r.indexOf(".");
  return dot > 0 && r.slice(dot + 1) === suffix;
}

/** An IPv4 or IPv6 address as bytes (4 or 16), `undefined` when it is not one. */
export function ipToBytes(address: string): Buffer | undefined {
  const version = isIP(address);
  if (version === 4) return Buffer.from(address.split(".").map(Number));
  if (version !== 6) return undefined;
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipToBytes(v4[1]!)!;
    text =
      text.slice(0, v4.index) +
      `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return bytes;
}

function dnsWithin(name: string, constraint: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, "");
  const c = constraint.toLowerCase().replace(/\.$/, "");
  if (c === "") return true;
  if (c.startsWith(".")) return n.endsWith(c);
  return n === c || n.endsWith(`.${c}`);
}

function ipWithin(address: Buffer, constraint: Buffer): boolean {
  const half = constraint.length / 2;
  if (address.length !== half) return false;
  for (let i = 0; i < half; i++) {
    if ((address[i]! & constraint[half + i]!) !== (constraint[i]! & constraint[half + i]!)) return false;
  }
  return true;
}

function contiguousMask(mask: Buffer): boolean {
  const bits = [...mask].map((b) => b.toString(2).padStart(8, "0")).join("");
  return /^1*0*$/.test(bits);
}

function dnWithin(name: Name, constraint: Name): boolean {
  if (constraint.length > name.length) return false;
  const prefix = new Name(Array.from(name).slice(0, constraint.length));
  return canonicalName(prefix) === canonicalName(constraint);
}

type Subtree =
  | { kind: "dns"; value: string }
  | { kind: "ip"; value: Buffer }
  | { kind: "dn"; value: Name }
  | { kind: "other"; tag: number };

/** A decoded NameConstraints extension, or the reason it is invalid. */
export interface NameConstraintSet {
  readonly permitted: readonly Subtree[];
  readonly excluded: readonly Subtree[];
}

function readSubtrees(bytes: Uint8Array, node: DerNode): Subtree[] | string {
  const subtrees = derChildren(bytes, node) ?? [];
  // GeneralSubtrees is SIZE (1..MAX): a present but empty list constrains nothing the CA can have meant.
  if (subtrees.length === 0) return `its ${node.tag === 0xa0 ? "permitted" : "excluded"} subtrees are empty`;
  const out: Subtree[] = [];
  for (const subtree of subtrees) {
    const base = subtree.tag === 0x30 ? derChildren(bytes, subtree)?.[0] : undefined;
    // A GeneralName is context-specific: [2] dNSName, [7] iPAddress (primitive), [4] directoryName (constructed).
    if (!base || (base.tag & 0xc0) !== 0x80) return "a subtree has no GeneralName";
    const content = Buffer.from(bytes.subarray(base.contentStart, base.end));
    if (base.tag === 0x82) {
      const value = content.toString("latin1");
      const bare = value.startsWith(".") ? value.slice(1) : value;
      if (value !== "" && !isValidDnsName(bare))
        return `the dNSName constraint "${value}" is not a valid name`;
      out.push({ kind: "dns", value });
    } else if (base.tag === 0x87) {
      if (
        (content.length !== 8 && content.length !== 32) ||
        !contiguousMask(content.subarray(content.length / 2))
      ) {
        return `an iPAddress constraint of ${content.length} bytes is not an address and a contiguous mask`;
      }
      out.push({ kind: "ip", value: content });
    } else if (base.tag === 0xa4) {
      const inner = derChildren(bytes, base)?.[0];
      try {
        if (!inner) throw new TypeError("empty directoryName");
        out.push({ kind: "dn", value: AsnParser.parse(bytes.slice(inner.start, inner.end), Name) });
      } catch {
        return "a directoryName constraint does not decode";
      }
    } else {
      out.push({ kind: "other", tag: base.tag & 0x1f });
    }
  }
  return out;
}

/** Reads a NameConstraints extension value; a string is the reason it is invalid. */
export function readNameConstraints(value: ArrayBuffer): NameConstraintSet | string {
  const bytes = new Uint8Array(value);
  const root = readDer(bytes);
  const parts = root && root.tag === 0x30 ? derChildren(bytes, root) : undefined;
  if (!parts) return "the extension does not decode";
  // RFC 5280 4.2.1.10: either permittedSubtrees or excludedSubtrees MUST be present.
  if (parts.length === 0) return "it holds neither permitted nor excluded subtrees";
  let permitted: Subtree[] = [];
  let excluded: Subtree[] = [];
  for (const part of parts) {
    const subtrees = readSubtrees(bytes, part);
    if (typeof subtrees === "string") return subtrees;
    if (part.tag === 0xa0) permitted = subtrees;
    else if (part.tag === 0xa1) excluded = subtrees;
  }
  return { permitted, excluded };
}

/** The names a certificate is checked by against name constraints. */
export interface ConstrainedNames {
  /** dNSNames as written, valid or not (an invalid one cannot be placed within a DNS constraint). */
  readonly dns: readonly string[];
  /** iPAddresses: 4 or 16 bytes, or the text of a value that is no address (e.g. a range put in a SAN). */
  readonly ip: readonly (Buffer | string)[];
  /** The subject (when not empty) and directoryName SANs. */
  readonly dn: readonly Name[];
}

/** The first name that violates the constraints, described for a person; `undefined` when all are allowed. */
export function nameConstraintViolation(
  names: ConstrainedNames,
  constraints: NameConstraintSet,
): string | undefined {
  const constrains = (kind: Subtree["kind"]) =>
    constraints.permitted.some((s) => s.kind === kind) || constraints.excluded.some((s) => s.kind === kind);
  // A name that is not well formed cannot be shown to lie inside a permitted subtree or outside an excluded one:
  // under a constraint of its kind it fails (RFC 5280: all names MUST be located within the permitted space).
  const badDns = constrains("dns") && names.dns.find((dns) => !isValidDnsName(dns, { wildcard: true }));
  if (badDns !== false && badDns !== undefined)
    return `the DNS name "${badDns}" is not a valid host name, so it cannot be placed within the constraints`;
  const badIp = constrains("ip") && names.ip.find((ip) => typeof ip === "string");
  if (typeof badIp === "string")
    return `the IP address entry "${badIp}" is not an address, so it cannot be placed within the constraints`;
  const checks: { kind: Subtree["kind"]; label: string; within: (s: Subtree) => boolean }[] = [
    ...names.dns.map((dns) => ({
      kind: "dns" as const,
      label: `DNS name "${dns}"`,
      within: (s: Subtree) => s.kind === "dns" && dnsWithin(dns, s.value),
    })),
    ...names.ip.flatMap((ip) =>
      typeof ip === "string"
        ? []
        : [
            {
              kind: "ip" as const,
              label: `IP address ${ipString(ip)}`,
              within: (s: Subtree) => s.kind === "ip" && ipWithin(ip, s.value),
            },
          ],
    ),
    ...names.dn.map((dn) => ({
      kind: "dn" as const,
      label: `name "${canonicalName(dn)}"`,
      within: (s: Subtree) => s.kind === "dn" && dnWithin(dn, s.value),
    })),
  ];
  for (const check of checks) {
    if (constraints.excluded.some(check.within)) return `the ${check.label} is in an excluded subtree`;
    const permittedOfKind = constraints.permitted.filter((s) => s.kind === check.kind);
    if (permittedOfKind.length > 0 && !permittedOfKind.some(check.within))
      return `the ${check.label} is outside the permitted subtrees`;
  }
  return undefined;
}

function ipString(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join(".");
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(":");
}
