import { createTestPki, startTestBroker } from "@proj/test-broker";
import { connect, type ConnectionOptions } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redact, toTlsOptions, validateConfig } from "../src/index.js";

type Pki = Awaited<ReturnType<typeof createTestPki>>;
let pki: Pki;
let other: Pki;

beforeAll(async () => {
  pki = await createTestPki({ name: "config-tls", intermediate: true });
  other = await createTestPki({ name: "config-tls-other" });
});
afterAll(async () => {
  await pki.cleanup();
  await other.cleanup();
});

function resolve(url: string, security: Record<string, unknown>) {
  const result = validateConfig({ broker: { url }, security }, { baseDir: pki.dir });
  return result.resolved!;
}

/** A real TLS handshake with the options; resolves with "ok" or the error's code. */
function handshake(port: number, options: ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, ...options });
    socket.once("secureConnect", () => {
      socket.destroy();
      resolve(socket.authorized ? "ok" : `unauthorized:${String(socket.authorizationError)}`);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe("toTlsOptions", () => {
  it("gives Node everything for mutual TLS, and the broker sees the client certificate", async () => {
    await using broker = await startTestBroker({ pki, requireClientCert: true });
    const passphraseKey = await pki.client.writeFile(
      "client-enc.key",
      pki.client.exportKey({ passphrase: "s3cret" }),
    );
    const resolved = resolve(broker.url, {
      trustStore: [pki.caFile],
      sendClientCertificate: true,
      keyStore: { certificate: pki.client.files.chain, privateKey: passphraseKey, passphrase: "s3cret" },
    });
    const options = toTlsOptions(resolved)!;
    expect(options).toMatchObject({
      rejectUnauthorized: true,
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.3",
      ca: [pki.caPem],
      cert: pki.client.chain,
      passphrase: "s3cret",
    });
    expect(options.servername).toBeUndefined(); // no SNI for an IP host without serverName
    expect(await handshake(broker.port, options)).toBe("ok");
    expect(broker.handshakeFailures).toEqual([]);
  });

  it("checks serverName for an IP host and sends it as SNI", async () => {
    await using broker = await startTestBroker({ pki });
    const good = toTlsOptions(resolve(broker.url, { trustStore: [pki.caFile], serverName: "localhost" }))!;
    expect(good.servername).toBe("localhost");
    expect(await handshake(broker.port, good)).toBe("ok");
    const wrong = toTlsOptions(
      resolve(broker.url, { trustStore: [pki.caFile], serverName: "broker.plant.local" }),
    )!;
    expect(await handshake(broker.port, wrong)).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  it("accepts only pinned keys, anywhere in the presented chain", async () => {
    await using broker = await startTestBroker({ pki });
    const pinned = (pins: string[]) =>
      toTlsOptions(resolve(broker.url, { trustStore: [pki.caFile], pinnedCertificates: pins }))!;
    expect(await handshake(broker.port, pinned([pki.server.spkiPin]))).toBe("ok");
    expect(await handshake(broker.port, pinned([pki.intermediate!.spkiPin]))).toBe("ok");
    expect(await handshake(broker.port, pinned([other.server.spkiPin]))).toBe("PINNED_CERT_MISMATCH");
  });

  it("refuses a broker from another CA; only an explicit checkServerCertificate: false lets it through", async () => {
    await using broker = await startTestBroker({ pki: other });
    // OpenSSL completes a server's chain from its own CA store, so the broker sends its root (as Mosquitto does).
    expect(
      await handshake(broker.port, toTlsOptions(resolve(broker.url, { trustStore: [pki.caFile] }))!),
    ).toBe("SELF_SIGNED_CERT_IN_CHAIN");
    const unchecked = validateConfig({
      broker: { url: broker.url },
      security: { checkServerCertificate: false },
    });
    expect(unchecked.findings.map((f) => f.code)).toContain("SERVER_CERT_CHECK_DISABLED");
    const options = toTlsOptions(unchecked.resolved!)!;
    expect(options.rejectUnauthorized).toBe(false);
    expect(options.ca).toBeUndefined();
    expect(await handshake(broker.port, options)).toMatch(/^unauthorized:/);
  });

  it("returns undefined when TLS is disabled", () => {
    expect(toTlsOptions(resolve("mqtt://localhost:1883", { enableTls: false }))).toBeUndefined();
  });
});

describe("redact", () => {
  it("hides passwords, passphrases, inline keys and URL credentials, and keeps env: references", () => {
    const config = {
      broker: { url: "mqtts://plc:hunter2@broker:8883", username: "plc", password: "hunter2" },
      security: {
        keyStore: { certificate: "c.pem", privateKey: pki.client.key, passphrase: "s3cret" },
        trustStore: ["env:CA_FILE"],
      },
    };
    const shown = JSON.stringify(redact(config));
    for (const secret of ["hunter2", "s3cret", pki.client.key.split("\n")[1]!])
      expect(shown).not.toContain(secret);
    expect(redact(config).broker).toEqual({
      url: "mqtts://plc:[redacted]@broker:8883",
      username: "plc",
      password: "[redacted]",
    });
    expect(redact({ security: { keyStore: { passphrase: "env:KEY_PASS" } } })).toEqual({
      security: { keyStore: { passphrase: "env:KEY_PASS" } },
    });
    expect(config.broker.password).toBe("hunter2"); // the original is untouched
  });
});
