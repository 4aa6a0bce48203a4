import { createTestPki } from "@proj/test-broker";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PEM_ERROR_CODES,
  buildChain,
  inspectCertificate,
  isPemError,
  parsePem,
  readPkcs12,
  readPrivateKey,
  verifyChain,
} from "../src/index.js";

const RUNS = 10_000;

type Pki = Awaited<ReturnType<typeof createTestPki>>;
let pki: Pki;
let samples: {
  certPem: string;
  certDer: Uint8Array;
  keyPem: string;
  encryptedKey: string;
  p12: Uint8Array;
  legacyP12: Uint8Array;
};

beforeAll(async () => {
  pki = await createTestPki({ name: "pem-property", intermediate: true });
  samples = {
    certPem: pki.server.cert,
    certDer: pki.server.certDer,
    keyPem: pki.server.key,
    encryptedKey: pki.server.exportKey({ passphrase: "pw" }),
    // Few iterations keep each surviving mutation cheap; the structure is the same as a real bundle.
    p12: pki.client.toPkcs12({ passphrase: "pw", iterations: 1 }),
    legacyP12: pki.client.toPkcs12({ passphrase: "pw", encryption: "legacy", iterations: 1 }),
  };
});
afterAll(() => pki.cleanup());

/** Mutations of bytes: flip, overwrite, delete a range, insert, truncate. */
function mutatedBytes(seed: () => Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom("flip", "set", "delete", "insert", "truncate"),
    )
    .map(([a, b, value, kind]) => {
      const bytes = Buffer.from(seed());
      const at = a % bytes.length;
      const length = 1 + (b % 64);
      switch (kind) {
        case "flip":
          bytes[at] = bytes[at]! ^ (1 << (value % 8));
          return bytes;
        case "set":
          bytes[at] = value;
          return bytes;
        case "delete":
          return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + length)]);
        case "insert":
          return Buffer.concat([bytes.subarray(0, at), Buffer.alloc(length, value), bytes.subarray(at)]);
        default:
          return bytes.subarray(0, at);
      }
    });
}

function mutatedText(seed: () => string): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.nat(),
      fc.nat(),
      fc.string({ maxLength: 40 }),
      fc.constantFrom("replace", "delete", "insert", "truncate"),
    )
    .map(([a, b, text, kind]) => {
      const source = seed();
      const at = a % source.length;
      const length = 1 + (b % 80);
      switch (kind) {
        case "replace":
          return source.slice(0, at) + text + source.slice(at + text.length);
        case "delete":
          return source.slice(0, at) + source.slice(at + length);
        case "insert":
          return source.slice(0, at) + text + source.slice(at);
        default:
          return source.slice(0, at);
      }
    });
}

/** Runs `fn`; the only thing allowed to escape is a PemError with a catalogued code. */
function onlyCodedErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!isPemError(error) || !(error.code in PEM_ERROR_CODES)) {
      throw new Error(`an uncoded error escaped: ${String(error)}`, { cause: error });
    }
  }
}

const anyInput = () =>
  fc.oneof(
    fc.uint8Array({ maxLength: 512 }),
    fc.string({ maxLength: 512 }),
    mutatedBytes(() => samples.certDer),
    mutatedText(() => samples.certPem),
    mutatedText(() => samples.keyPem + samples.certPem),
  );

describe(`property: ${RUNS} random and mutated inputs per parser`, () => {
  it("parsePem never throws and always says what it found", () => {
    fc.assert(
      fc.property(anyInput(), (input) => {
        const result = parsePem(input);
        expect(result.blocks.length > 0 || result.findings.some((f) => f.severity === "error")).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("inspectCertificate returns a certificate or throws a coded PemError", () => {
    fc.assert(
      fc.property(anyInput(), (input) => onlyCodedErrors(() => inspectCertificate(input))),
      { numRuns: RUNS },
    );
  });

  it("readPrivateKey returns a key or throws a coded PemError", () => {
    const inputs = fc.oneof(
      anyInput(),
      mutatedText(() => samples.encryptedKey),
      mutatedText(() => samples.keyPem),
    );
    fc.assert(
      fc.property(inputs, fc.option(fc.string({ maxLength: 8 })), (input, passphrase) =>
        onlyCodedErrors(() => readPrivateKey(input, passphrase ?? undefined)),
      ),
      { numRuns: RUNS },
    );
  });

  it("readPkcs12 returns contents or throws a coded PemError", () => {
    const inputs = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      mutatedBytes(() => samples.p12),
      mutatedBytes(() => samples.legacyP12),
    );
    fc.assert(
      fc.property(inputs, (input) => onlyCodedErrors(() => readPkcs12(input, "pw"))),
      { numRuns: RUNS },
    );
  });

  it("verifyChain and buildChain never throw: bad input becomes findings", () => {
    const pemInputs = fc.oneof(
      fc.string({ maxLength: 256 }),
      mutatedText(() => samples.certPem),
    );
    fc.assert(
      fc.property(pemInputs, pemInputs, (leaf, other) => {
        const verified = verifyChain({ leaf, intermediates: [other], trusted: [pki.caPem] });
        expect(verified.ok || verified.findings.length > 0).toBe(true);
        buildChain([leaf, other]);
      }),
      { numRuns: RUNS },
    );
  });
});
