import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { X509Certificate, createPrivateKey, webcrypto } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type TLSSocket } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import {
  createCsr,
  initLabPki,
  issueLabLeaf,
  revokeLabCertificate,
  signLabCsr,
  writeLabCrl,
  type PkiErrorCode,
} from "../src/index.js";

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "lab-pki-test-"));
  dirs.push(dir);
  return join(dir, "ca");
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, code: PkiErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: "PkiError", code });
}

/** Does a TLS server trusting the lab CA, with `crl`, accept a client presenting `cert`/`key`? */
async function accepted(
  ca: string,
  server: { cert: string; key: string },
  client: { cert: string; key: string },
  crl?: string[],
) {
  const tlsServer = createServer(
    { ...server, ca, requestCert: true, rejectUnauthorized: true, ...(crl ? { crl } : {}) },
    (s) => s.end("ok"),
  );
  tlsServer.listen(0, "127.0.0.1");
  await once(tlsServer, "listening");
  const { port } = tlsServer.address() as { port: number };
  try {
    const socket: TLSSocket = connect({ host: "127.0.0.1", port, servername: "localhost", ca, ...client });
    const outcome = await new Promise<boolean>((resolve) => {
      socket.on("data", () => resolve(true));
      socket.on("error", () => resolve(false));
      socket.on("close", () => resolve(false));
    });
    socket.destroy();
    return outcome;
  } finally {
    tlsServer.close();
  }
}

describe("lab PKI", () => {
  it("issues server and client certificates that chain to its root, keys readable by the owner only", async () => {
    const dir = await freshDir();
    const pki = await initLabPki({ dir, keyType: "ec-p256" });
    const server = await issueLabLeaf({ dir, role: "server", name: "localhost", ip: ["127.0.0.1"] });
    const client = await issueLabLeaf({ dir, role: "client", name: "plc1", keyType: "rsa2048" });

    const root = new X509Certificate(await readFile(pki.caFile));
    const intermediate = new X509Certificate(await readFile(join(dir, "intermediate-ca.crt")));
    const leaf = new X509Certificate(await readFile(server.certFile));
    expect(leaf.checkIssued(intermediate)).toBe(true);
    expect(intermediate.checkIssued(root)).toBe(true);
    expect(leaf.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1");
    expect(leaf.serialNumber.toUpperCase()).toBe(server.serial);
    expect(
      new X509Certificate(await readFile(client.certFile)).publicKey.asymmetricKeyDetails?.modulusLength,
    ).toBe(2048);
    expect((await stat(client.keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "ca.key"))).mode & 0o777).toBe(0o600);

    const ca = await readFile(pki.caFile, "utf8");
    const tlsServer = {
      cert: await readFile(server.chainFile, "utf8"),
      key: await readFile(server.keyFile, "utf8"),
    };
    const tlsClient = {
      cert: await readFile(client.chainFile, "utf8"),
      key: await readFile(client.keyFile, "utf8"),
    };
    expect(await accepted(ca, tlsServer, tlsClient)).toBe(true);
  });

  it("refuses to overwrite a CA, to issue without one, and an IP that is not one", async () => {
    const dir = await freshDir();
    await rejectsWith(issueLabLeaf({ dir, role: "client", name: "plc1" }), "PKI_NOT_FOUND");
    await initLabPki({ dir, intermediate: false });
    await rejectsWith(initLabPki({ dir }), "PKI_EXISTS");
    await rejectsWith(
      issueLabLeaf({ dir, role: "server", name: "b", ip: ["10.0.0.300"] }),
      "PKI_BAD_REQUEST",
    );
  });

  it("signs a CSR without ever seeing its key, and refuses one that was altered", async () => {
    const dir = await freshDir();
    await initLabPki({ dir });
    const keys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ]);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: "CN=line1-nx3004, O=Plant",
      keys,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    });
    const leaf = await signLabCsr({ dir, role: "client", csr: csr.toString("pem") });
    expect(leaf.name).toBe("line1-nx3004");
    expect(leaf.keyFile).toBeUndefined();
    const cert = new X509Certificate(await readFile(leaf.certFile));
    expect(cert.subject).toContain("CN=line1-nx3004");
    const csrKey = Buffer.from(await webcrypto.subtle.exportKey("spki", keys.publicKey));
    expect(cert.publicKey.export({ type: "spki", format: "der" }).equals(csrKey)).toBe(true);

    const der = Buffer.from(csr.rawData);
    const at = der.indexOf(Buffer.from("line1-nx3004"));
    der[at] = "X".charCodeAt(0);
    await rejectsWith(signLabCsr({ dir, role: "client", csr: der }), "PKI_BAD_REQUEST");
    await rejectsWith(signLabCsr({ dir, role: "client", csr: "not a request" }), "PKI_BAD_REQUEST");
  });

  it("makes a key and a CSR the lab CA signs, for RSA, EC and Ed25519", async () => {
    const dir = await freshDir();
    await initLabPki({ dir });
    for (const keyType of ["rsa2048", "ec-p384", "ed25519"] as const) {
      const request = await createCsr({ subject: `CN=plc-${keyType}, O=Plant`, keyType });
      expect(request.csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
      const leaf = await signLabCsr({ dir, role: "client", csr: request.csr });
      const cert = new X509Certificate(await readFile(leaf.certFile));
      expect(cert.subject).toContain(`CN=plc-${keyType}`);
      expect(cert.checkPrivateKey(createPrivateKey(request.keyPem))).toBe(true);
    }
  });

  it("revokes by name, and a TLS server holding the CRL refuses that client while others still connect", async () => {
    const dir = await freshDir();
    const pki = await initLabPki({ dir });
    const server = await issueLabLeaf({ dir, role: "server", name: "localhost" });
    const stolen = await issueLabLeaf({ dir, role: "client", name: "plc7" });
    const other = await issueLabLeaf({ dir, role: "client", name: "plc8" });

    const revoked = await revokeLabCertificate({ dir, name: "plc7", reason: "keyCompromise" });
    expect(revoked.map((r) => r.serial)).toEqual([stolen.serial]);
    // Revoking again records nothing new; an unknown name is an error, not a silent no-op.
    expect(await revokeLabCertificate({ dir, serial: stolen.serial })).toEqual([]);
    await rejectsWith(revokeLabCertificate({ dir, name: "plc99" }), "PKI_UNKNOWN_CERTIFICATE");

    const crl = await writeLabCrl({ dir, days: 7 });
    expect(crl.pem).toMatch(/^-----BEGIN X509 CRL-----\n/);
    expect(crl.revoked).toEqual([stolen.serial]);
    const parsed = new x509.X509Crl(crl.pem.slice(0, crl.pem.indexOf("-----END X509 CRL-----") + 22));
    expect(parsed.entries.map((e) => e.serialNumber.toUpperCase())).toEqual([stolen.serial]);
    expect(parsed.entries[0]!.reason).toBe(x509.X509CrlReason.keyCompromise);

    const ca = await readFile(pki.caFile, "utf8");
    const read = async (leaf: { chainFile: string; keyFile: string }) => ({
      cert: await readFile(leaf.chainFile, "utf8"),
      key: await readFile(leaf.keyFile, "utf8"),
    });
    const tlsServer = await read(server);
    // Node checks the CRL of every CA in the chain: the file holds the intermediate's and the root's (Node's
    // `crl` option takes one CRL per array entry; Mosquitto's crlfile reads them all from the one file).
    const crls = crl.pem.match(/-----BEGIN X509 CRL-----[^-]+-----END X509 CRL-----\n/g) ?? [];
    expect(crls).toHaveLength(2);
    expect(await accepted(ca, tlsServer, await read(other), crls)).toBe(true);
    expect(await accepted(ca, tlsServer, await read(stolen), crls)).toBe(false);
    expect(createPrivateKey(await readFile(stolen.keyFile))).toBeDefined();
  });
});
