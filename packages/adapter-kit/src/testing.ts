import { validateConfig, type TlsVersion } from "@proj/security-config";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { connectSecure } from "@proj/mqtt-tls";
import { createTestPki } from "@proj/pki";
import { describe, expect, it } from "vitest";
import { checkAgainstProfile } from "./check.js";
import { defineAdapter, validateForDevice, type Adapter } from "./define.js";
import { PROFILE_FACTS, type DeviceProfile } from "./profile.js";
import { simulateDevice } from "./simulate.js";

/** Options of {@link describeAdapterContract}. */
export interface ContractOptions {
  /** Extra device configurations that must round-trip, besides `adapter.examples.deviceConfigs`. */
  deviceConfigs?: readonly unknown[];
}

const ALL_TLS: readonly TlsVersion[] = ["TLSv1.2", "TLSv1.3"];

type KeyKind = "rsa1024" | "rsa2048" | "rsa4096" | "p256" | "p384" | "p521" | "ed25519";
const CURVES: Partial<Record<KeyKind, string>> = { p256: "prime256v1", p384: "secp384r1", p521: "secp521r1" };
const rsaBits = (kind: KeyKind) => (kind.startsWith("rsa") ? Number(kind.slice(3)) : undefined);

function keyPem(kind: KeyKind): string {
  const bits = rsaBits(kind);
  const curve = CURVES[kind];
  const pair =
    bits !== undefined
      ? generateKeyPairSync("rsa", { modulusLength: bits })
      : curve !== undefined
        ? generateKeyPairSync("ec", { namedCurve: curve })
        : generateKeyPairSync("ed25519");
  return pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
}

/** A key the profile takes, and one it does not (when there is one among the usual shapes). */
function keysFor(profile: DeviceProfile): { supported: string; unsupported: string | undefined } {
  const candidates: readonly KeyKind[] = ["rsa2048", "p256", "rsa4096", "p384", "ed25519", "rsa1024", "p521"];
  const fits = (kind: KeyKind) =>
    profile.keyTypes.some((k) => {
      const bits = rsaBits(kind);
      const curve = CURVES[kind];
      if (k.type === "rsa") return bits !== undefined && bits >= k.minBits && bits <= (k.maxBits ?? Infinity);
      if (k.type === "ec") return curve !== undefined && k.curves.includes(curve);
      return kind === "ed25519";
    });
  const good = candidates.find(fits);
  const bad = candidates.find((kind) => !fits(kind));
  return { supported: keyPem(good ?? "rsa2048"), unsupported: bad === undefined ? undefined : keyPem(bad) };
}

function deviceCodes(config: unknown, adapter: Adapter): { code: string; path: string | undefined }[] {
  const { resolved } = validateConfig(config);
  if (!resolved) throw new Error("contract configuration did not resolve");
  return checkAgainstProfile(resolved, adapter.profile, { deviceName: adapter.name }).map((f) => ({
    code: f.code,
    path: f.path,
  }));
}

/**
 * Registers the adapter contract suite with Vitest: the definition and every profile fact's source, the profile
 * check (a configuration inside the profile passes; TLS versions, MQTT versions, key types and client
 * certificates outside it are `DEVICE_UNSUPPORTED` at the right path), the adapter's own rules, the files
 * `toDeviceFiles` writes (names, encodings, 0600 keys), and the round trip of device configurations.
 *
 * @example
 * ```ts
 * // acme-plc.test.ts
 * import { describeAdapterContract } from "@proj/adapter-kit/testing";
 * import { acmePlc } from "./acme-plc.js";
 * describeAdapterContract(acmePlc);
 * ```
 */
export function describeAdapterContract(adapter: Adapter, options: ContractOptions = {}): void {
  const { profile } = adapter;
  const deviceTls = ALL_TLS.filter((v) => profile.tlsVersions.includes(v));
  const outsideTls = ALL_TLS.find((v) => !profile.tlsVersions.includes(v));
  const outsideMqtt = ([4, 5] as const).find((v) => !profile.mqttVersions.includes(v));
  const inside = (extra: Record<string, unknown> = {}, keyPemText?: string) => ({
    broker: {
      url: "mqtts://127.0.0.1:8883",
      protocolVersion: profile.mqttVersions.includes(4) ? 4 : profile.mqttVersions[0],
    },
    security: {
      ...(deviceTls.length > 0 ? { minTlsVersion: deviceTls[0], maxTlsVersion: deviceTls.at(-1) } : {}),
      ...(profile.supportsClientCert && keyPemText
        ? { sendClientCertificate: true, keyStore: { certificate: keyPemText, privateKey: keyPemText } }
        : {}),
      ...extra,
    },
  });

  describe(`adapter contract: ${adapter.id}`, () => {
    it("is a valid definition with a kebab-case id, a name, a vendor and models", () => {
      expect(() => defineAdapter({ ...adapter })).not.toThrow();
      expect(adapter.id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(adapter.models.length).toBeGreaterThan(0);
    });

    it("gives every profile fact a source, documented or assumed", () => {
      for (const fact of PROFILE_FACTS) {
        if (profile[fact] === undefined) continue;
        const source = profile.sources[fact];
        expect(source, `profile.${fact} needs a source`).toBeDefined();
        expect(["documented", "assumed"]).toContain(source!.kind);
        expect(source!.title.trim().length).toBeGreaterThan(0);
        if (source!.url !== undefined) expect(() => new URL(source!.url!)).not.toThrow();
      }
    });

    const keys = keysFor(profile);

    it("accepts a configuration inside its profile", () => {
      expect(deviceCodes(inside({}, keys.supported), adapter)).toEqual([]);
    });

    if (outsideTls) {
      it(`refuses ${outsideTls}, which it does not speak`, () => {
        expect(
          deviceCodes(inside({ minTlsVersion: outsideTls, maxTlsVersion: outsideTls }), adapter),
        ).toContainEqual({ code: "DEVICE_UNSUPPORTED", path: "security.minTlsVersion" });
      });
    }

    if (outsideMqtt) {
      it(`refuses MQTT protocol level ${outsideMqtt}, which it does not speak`, () => {
        const config = inside();
        expect(
          deviceCodes({ ...config, broker: { ...config.broker, protocolVersion: outsideMqtt } }, adapter),
        ).toContainEqual({
          code: "DEVICE_UNSUPPORTED",
          path: "broker.protocolVersion",
        });
      });
    }

    if (profile.supportsClientCert && keys.unsupported) {
      it("refuses a client key type it does not take", () => {
        expect(deviceCodes(inside({}, keys.unsupported), adapter)).toContainEqual({
          code: "DEVICE_UNSUPPORTED",
          path: "security.keyStore.privateKey",
        });
      });
    }

    if (!profile.supportsClientCert) {
      it("refuses mutual TLS, which it cannot do", () => {
        expect(
          deviceCodes(
            inside({
              sendClientCertificate: true,
              keyStore: { certificate: keys.supported, privateKey: keys.supported },
            }),
            adapter,
          ),
        ).toContainEqual({ code: "DEVICE_UNSUPPORTED", path: "security.sendClientCertificate" });
      });
    }

    it("runs its own rules without emitting codes it does not declare", () => {
      expect(() => validateForDevice(inside({}, keys.supported), adapter)).not.toThrow();
    });

    if (adapter.toDeviceFiles) {
      it("writes its device files in the declared encodings, keys readable by the owner only", async () => {
        await using pki = await createTestPki({ name: `contract-${adapter.id}`, keyType: "rsa2048" });
        const { resolved } = validateConfig({
          broker: { url: "mqtts://127.0.0.1:8883" },
          security: {
            trustStore: [pki.caPem],
            sendClientCertificate: true,
            keyStore: { certificate: pki.client.cert, privateKey: pki.client.key },
          },
        });
        const dir = await mkdtemp(join(tmpdir(), `contract-${adapter.id}-`));
        try {
          const files = await adapter.toDeviceFiles!(resolved!, dir);
          expect(files.length).toBeGreaterThan(0);
          for (const file of files) {
            expect(dirname(file.path)).toBe(dir);
            const bytes = await readFile(file.path);
            const isPem = bytes.subarray(0, 11).toString() === "-----BEGIN ";
            expect(isPem, `${file.path} should be ${file.encoding}`).toBe(file.encoding === "PEM");
            if (file.secret && process.platform !== "win32") {
              expect((await stat(file.path)).mode & 0o777, `${file.path} mode`).toBe(0o600);
            }
          }
          expect(files.some((f) => f.secret)).toBe(true);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    }

    const examples = [...(adapter.examples?.deviceConfigs ?? []), ...(options.deviceConfigs ?? [])];
    if (adapter.fromDeviceConfig && adapter.toDeviceConfig) {
      it.each(examples.map((example, i) => [i, example] as const))(
        "round-trips device configuration %i through ours unchanged",
        (_i, example) => {
          const ours = adapter.fromDeviceConfig!(example);
          expect(adapter.toDeviceConfig!(ours.value).value).toEqual(example);
        },
      );
      it("has device configurations to round-trip", () => expect(examples.length).toBeGreaterThan(0));
    }
  });
}

/** A broker to run a simulated device against, from {@link describeSimulator}. */
export interface SimulatorTarget extends AsyncDisposable {
  /** A configuration for the device that points at the broker (a subscriber connects with it too). */
  readonly config: unknown;
  /** Where its relative paths start. */
  readonly baseDir?: string;
}

/** One broker of {@link describeSimulator}. */
export interface SimulatorTargetSpec {
  readonly name: string;
  start(): Promise<SimulatorTarget>;
  /** A reason to skip (e.g. the broker's binary is missing on this machine), or false. */
  readonly skip?: string | false;
}

/**
 * Registers one test per broker: the adapter's simulated device connects as the device would (a TLS version of
 * its profile), publishes two rounds of its tags, and a subscriber on the same broker receives every topic.
 *
 * @example
 * ```ts
 * describeSimulator(acmePlc, [{ name: "my broker", start: async () => startMyBroker() }]);
 * ```
 */
export function describeSimulator(adapter: Adapter, targets: readonly SimulatorTargetSpec[]): void {
  describe(`simulated ${adapter.name}`, () => {
    for (const target of targets) {
      it.skipIf(target.skip)(
        `connects to ${target.name} as the device would and publishes its tags`,
        async () => {
          await using broker = await target.start();
          const options = broker.baseDir === undefined ? {} : { baseDir: broker.baseDir };
          const config = broker.config as { broker: Record<string, unknown> };
          await using subscriber = await connectSecure(
            { ...config, broker: { ...config.broker, clientId: `contract-subscriber-${adapter.id}` } },
            options,
          );
          const seen = new Set<string>();
          subscriber.on("message", (topic: string) => seen.add(topic));
          await subscriber.subscribe("#");
          await using device = await simulateDevice(adapter, broker.config, {
            ...options,
            rounds: 2,
            intervalMs: 20,
          });
          await device.done;
          expect(adapter.profile.tlsVersions).toContain(device.tlsInfo?.protocol);
          await expect.poll(() => device.topics.every((t) => seen.has(t)), { timeout: 5000 }).toBe(true);
          expect(device.published).toBe(device.topics.length * 2);
        },
      );
    }
  });
}
