import { loadConfig, type ResolvedConfig } from "@proj/security-config";
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { diagnoseFailure, failureEvent, isPermanent } from "./failure-diagnosis.js";

/** A port nothing listens on: one the system gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

async function resolve(url: string, security: Record<string, unknown>): Promise<ResolvedConfig> {
  const { resolved } = await loadConfig(
    { broker: { url, connectTimeoutMs: 1000 }, security },
    { baseDir: "/" },
  );
  return resolved!;
}

let port: number;
beforeAll(async () => {
  port = await closedPort();
});

describe("diagnoseFailure", () => {
  it("names an attempt that ran out of its deadline by how far it got, without probing", async () => {
    const plain = await resolve(`mqtt://127.0.0.1:${port}`, { enableTls: false });
    const tls = await resolve(`mqtts://127.0.0.1:${port}`, {});
    const now = 10_000;
    const timedOut = async (resolved: ResolvedConfig, connected: boolean, secured: boolean) => {
      const finding = await diagnoseFailure(
        { started: 0, connected, secured },
        resolved,
        resolved.urls[0]!,
        [],
        now,
      );
      expect(finding.code).toBe("CONNECT_TIMEOUT");
      return finding.message.split(": ")[1];
    };
    expect(await timedOut(plain, false, false)).toBe("the TCP connection was not established.");
    expect(await timedOut(tls, true, false)).toBe(
      "the broker accepted TCP but did not answer the TLS handshake.",
    );
    expect(await timedOut(tls, true, true)).toBe("the broker did not answer CONNECT with a CONNACK.");
    // Without TLS, past TCP is MQTT.
    expect(await timedOut(plain, true, false)).toBe("the broker did not answer CONNECT with a CONNACK.");
  });

  it("probes an attempt that failed before its deadline, a WebSocket attempt, or none recorded", async () => {
    const plain = await resolve(`mqtt://127.0.0.1:${port}`, { enableTls: false });
    const early = await diagnoseFailure(
      { started: 9_500, connected: false, secured: false },
      plain,
      plain.urls[0]!,
      [],
      10_000,
    );
    expect(early.code).toBe("BROKER_UNREACHABLE");
    expect((await diagnoseFailure(undefined, plain, plain.urls[0]!, [])).code).toBe("BROKER_UNREACHABLE");
    // WebSocket attempts do not say how far they got: even a late one is probed.
    const ws = await resolve(`ws://127.0.0.1:${port}`, { enableTls: false });
    const late = await diagnoseFailure(
      { started: 0, connected: true, secured: false },
      ws,
      ws.urls[0]!,
      [],
      10_000,
    );
    expect(late.code).toBe("BROKER_UNREACHABLE");
  });
});

describe("failureEvent and isPermanent", () => {
  it("raise an alarm for a certificate or TLS refusal and wait the longest backoff after it", () => {
    expect(failureEvent("SERVER_CERT_UNTRUSTED")).toEqual(["certificate", "PEER_CERT_UNTRUSTED", "alarm"]);
    expect(failureEvent("TLS_VERSION_MISMATCH")).toEqual(["tls", "TLS_VERSION_REFUSED", "alarm"]);
    expect(failureEvent("BROKER_UNREACHABLE")).toEqual(["connection", "CONNECTION_FAILED", "warning"]);
    expect(isPermanent("CLIENT_CERT_REJECTED")).toBe(true);
    expect(isPermanent("MQTT_CONNECT_REFUSED")).toBe(true);
    expect(isPermanent("CONNECT_TIMEOUT")).toBe(false);
    expect(isPermanent("BROKER_UNREACHABLE")).toBe(false);
  });
});
