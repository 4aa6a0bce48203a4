/**
 * Names an example may use without declaring them: the only names the check does not find by itself.
 *
 * An example is a fragment. The check adds, by itself, the `import` of every name that the package the example
 * belongs to exports (and the `@proj/*` packages it depends on), so an API that is renamed or does not exist
 * fails. What remains are values the prose around an example introduces ("a configuration", "the client", "the
 * error you caught"), a few Node built-ins, and modules of the reader's own: they are listed here, one file at a
 * time, each with its type and the reason. An entry no example of its file needs is reported, so the list never
 * grows beyond what the docs use.
 */

/** A value the prose introduces, declared as `declare const name: type`; or a name a user imports, as that import. */
export type FreeName =
  { readonly type: string; readonly why: string } | { readonly import: string; readonly why: string };

/** A module of the reader's own an example imports (`./acme-plc.js`), as the declarations it is assumed to hold. */
export interface FreeModule {
  readonly source: string;
  readonly why: string;
}

/** Node built-ins examples call without importing them: any file may, with the import a user writes. */
export const NODE_IMPORTS: Readonly<Record<string, string>> = {
  readFile: 'import { readFile } from "node:fs/promises";',
  writeFile: 'import { writeFile } from "node:fs/promises";',
  createWriteStream: 'import { createWriteStream } from "node:fs";',
  createPublicKey: 'import { createPublicKey } from "node:crypto";',
  tls: 'import tls from "node:tls";',
};

// What the prose of several files introduces, with one type each.
const config: FreeName = {
  type: 'import("@proj/security-config").SecurityConfigInput',
  why: "a configuration object: the shape @proj/security-config documents",
};
const caughtError: FreeName = { type: "unknown", why: "the error a catch block caught" };
const resolved: FreeName = {
  type: 'import("@proj/security-config").ResolvedConfig',
  why: "a loaded configuration's `resolved`",
};
const loaded: FreeName = {
  type: 'import("@proj/security-config").LoadedConfig',
  why: "the result of loadConfig",
};
const client: FreeName = {
  type: 'import("@proj/mqtt-tls").SecureClient',
  why: "a client from connectSecure",
};
const findings: FreeName = { type: 'import("@proj/findings").Finding[]', why: "the findings of a check" };
const pemText = (what: string): FreeName => ({ type: "string", why: `${what}, PEM text read from its file` });
const nexto: FreeName = {
  type: 'typeof import("@proj/adapter-nexto").nexto',
  why: "the Altus Nexto adapter, the device adapter-kit's docs take as their example",
};
/** The SQLite backend, the store's default, which the core package cannot import itself. */
const sqliteBackend: FreeName = {
  import: 'import { sqliteBackend } from "@proj/cert-store-sqlite";',
  why: "the default backend, a package of its own",
};
/** A Sparkplug primary host application and an edge node, as the prose of the Sparkplug docs has them. */
const host: FreeName = {
  type: 'import("@proj/sparkplug").PrimaryHost',
  why: "a primary host from startPrimaryHost",
};
const edge: FreeName = { type: 'import("@proj/sparkplug").EdgeNode', why: "an edge node from startEdgeNode" };
/** Inside @proj/mqtt-tls: the mqtt.js client a SecureClient drives. */
const mqttClient: FreeName = { type: 'import("mqtt").MqttClient', why: "the mqtt.js client underneath" };

/** Free names by repository-relative file (a README, or a source file for its TSDoc examples). */
export const FREE_VARIABLES: Readonly<Record<string, Readonly<Record<string, FreeName>>>> = {
  // READMEs
  "packages/adapter-abb/README.md": { config },
  "packages/adapter-beckhoff/README.md": { config },
  "packages/adapter-codesys/README.md": { config },
  "packages/adapter-geoscada/README.md": {
    item: { type: "unknown", why: "the MQTT Broker item, the JSON block above it" },
  },
  "packages/adapter-kit/README.md": { config, nexto },
  "packages/adapter-nexto/README.md": { config },
  "packages/mqtt-tls/README.md": { config },
  "packages/pem/README.md": {
    brokerPem: pemText("the broker's certificate"),
    intermediatePem: pemText("the intermediate CA"),
    rootPem: pemText("the root CA"),
    caPem: pemText("the CA certificate"),
    pem: pemText("a private key"),
  },
  "packages/security-config/README.md": { config },
  "packages/security-config/src/files.ts": { caPem: pemText("the CA certificate") },

  // TSDoc examples
  "apps/cli/src/errors.ts": { error: caughtError },
  "apps/cli/src/fleet.ts": { config },
  "packages/adapter-abb/src/abb-ac500.ts": { config },
  "packages/adapter-beckhoff/src/beckhoff-tf6701.ts": { config },
  "packages/adapter-codesys/src/codesys-mqtt.ts": { config },
  "packages/adapter-geoscada/src/geoscada.ts": {
    item: { type: "unknown", why: "a Geo SCADA MQTT Broker item as JSON" },
  },
  "packages/adapter-geoscada/src/sparkplug.ts": {
    host,
    nodes: {
      type: 'import("@proj/sparkplug").NodeSnapshot[]',
      why: "the nodes a host learned, as snapshots",
    },
  },
  "packages/adapter-kit/src/check.ts": { config, nexto },
  "packages/adapter-kit/src/define.ts": { config, nexto },
  "packages/adapter-kit/src/simulate-edge-node.ts": { nexto },
  "packages/adapter-kit/src/errors.ts": {
    error: caughtError,
    registry: { type: "AdapterRegistry", why: "a registry from createRegistry" },
  },
  "packages/adapter-kit/src/files.ts": {
    dir: { type: "string", why: "the folder toDeviceFiles writes to" },
    caPem: pemText("the CA certificate"),
  },
  "packages/adapter-kit/src/registry.ts": {
    config,
    nexto,
    geoScada: {
      type: 'typeof import("@proj/adapter-geoscada").geoScada',
      why: "the Geo SCADA adapter, another published adapter",
    },
    myOwnAdapter: { type: "Adapter", why: "an adapter of the reader's own, from defineAdapter" },
  },
  "packages/adapter-kit/src/simulate.ts": { config, nexto },
  "packages/adapter-kit/src/testing.ts": {
    acmePlc: { type: "Adapter", why: "the adapter under test, written with defineAdapter" },
    startMyBroker: {
      type: "() => Promise<SimulatorTarget>",
      why: "the reader's function that starts a broker and says how the device reaches it",
    },
  },
  "packages/adapter-nexto/src/nexto.ts": { config },
  "packages/cert-store/src/backend.ts": { sqliteBackend },
  "packages/cert-store/src/errors.ts": { sqliteBackend },
  "packages/cert-store/src/store.ts": {
    store: { type: 'import("@proj/cert-store").CertStore', why: "a store from openCertStore" },
    loadConfig: {
      import: 'import { loadConfig } from "@proj/security-config";',
      why: "the configuration loader that takes the resolver",
    },
  },
  "packages/cert-store/src/testing.ts": {
    myBackend: {
      type: 'import("@proj/cert-store").BackendFactory',
      why: "the backend of the reader's own under test",
    },
  },
  "packages/cert-store-postgres/src/postgres-backend.ts": { sqliteBackend },
  "packages/dev-broker/src/start-dev-broker.ts": {
    mqtt: { import: 'import mqtt from "mqtt";', why: "mqtt.js, the client the example connects with" },
  },
  "packages/findings/src/catalogue.ts": { findings },
  "packages/findings/src/error.ts": { error: caughtError },
  "packages/findings/src/finding.ts": { findings },
  "packages/findings/src/report.ts": { findings },
  "packages/mqtt-tls/src/client-config.ts": {
    config,
    options: { type: "SecureClientOptions", why: "the options connectSecure was given" },
    resolved,
    current: { type: "ResolvedConfig", why: "the configuration the client runs with" },
    reloaded: { type: "ResolvedConfig", why: "the configuration read again from its files" },
    MqttClient: { import: 'import { MqttClient } from "mqtt";', why: "the mqtt.js client class" },
    createStream: {
      type: 'ConstructorParameters<typeof import("mqtt").MqttClient>[0]',
      why: "the stream builder of the TLS transport",
    },
  },
  "packages/mqtt-tls/src/client.ts": { config, client },
  "packages/sparkplug/src/edge-node.ts": { edge },
  "packages/sparkplug/src/host-model.ts": { host },
  "packages/sparkplug/src/host.ts": { host },
  "packages/sparkplug/src/payload.ts": {
    bytes: { type: "Uint8Array", why: "a payload as it arrived in an MQTT message" },
  },
  "packages/mqtt-tls/src/credential-watcher.ts": {
    client,
    resolved,
    report: { type: "Parameters<typeof reloadOnChange>[2]", why: "the client's security event reporter" },
  },
  "packages/mqtt-tls/src/diagnose.ts": {
    socket: { type: 'import("node:tls").TLSSocket', why: "a TLS socket the caller connected" },
    failure: { type: "ConnectionFailure", why: "what the caller observed of a failed connection" },
    loaded,
    url: { type: "BrokerUrl", why: "the broker URL that was tried" },
    resolved,
  },
  "packages/mqtt-tls/src/errors.ts": {
    config,
    error: caughtError,
    renewCertificate: { type: "() => void", why: "the reader's own renewal procedure" },
  },
  "packages/mqtt-tls/src/expiry-monitor.ts": {
    resolved,
    client,
    certificate: { type: "WatchedCertificate", why: "the certificate the monitor reported" },
  },
  "packages/mqtt-tls/src/failure-diagnosis.ts": {
    transport: { type: 'import("./tls-transport.js").TlsTransport', why: "the client's TLS transport" },
    resolved,
    configFindings: findings,
  },
  "packages/mqtt-tls/src/file-store.ts": {
    config,
    dir: { type: "string", why: "the outbox folder" },
    log: { type: "Console", why: "the application's logger" },
    outbox: { type: "FileStore", why: "the store the client was given" },
  },
  "packages/mqtt-tls/src/handshake-checks.ts": {
    report: {
      type: "ConstructorParameters<typeof HandshakeChecks>[0]",
      why: "the client's security event reporter",
    },
    client,
    profile: { type: "Profile", why: "the profile the configuration is judged by" },
  },
  "packages/mqtt-tls/src/publish-gate.ts": {
    gate: { type: "PublishGate", why: "the client's publish gate" },
    client,
    mqtt: mqttClient,
  },
  "packages/mqtt-tls/src/reconnect-policy.ts": {
    client: { type: 'import("mqtt").MqttClient', why: "the mqtt.js client the policy reconnects" },
  },
  "packages/mqtt-tls/src/refused-publish.ts": {
    client: { type: 'import("mqtt").MqttClient', why: "the mqtt.js client whose packets are tracked" },
  },
  "packages/mqtt-tls/src/renewal-timer.ts": {
    renewSession: { type: "() => void", why: "the work to repeat" },
  },
  "packages/mqtt-tls/src/security-events.ts": {
    client,
    config,
    options: { type: "SecureClientOptions", why: "the options connectSecure was given" },
    event: { type: "SecurityEvent", why: "an event the client emitted" },
  },
  "packages/mqtt-tls/src/session-renewal.ts": {
    hooks: { type: "SessionRenewalHooks", why: "what the client gives its session renewal" },
    mqtt: mqttClient,
  },
  "packages/mqtt-tls/src/tls-transport.ts": {
    resolved,
    MqttClient: { import: 'import { MqttClient } from "mqtt";', why: "the mqtt.js client class" },
    mqttClientOptions: {
      import: 'import { mqttClientOptions } from "./client-config.js";',
      why: "the client's mqtt.js options, from the neighbouring module",
    },
  },
  "packages/pem/src/chain.ts": {
    serverPem: pemText("the broker's certificate"),
    intermediatePem: pemText("the intermediate CA"),
    rootPem: pemText("the root CA"),
    caPem: pemText("the CA certificate"),
  },
  "packages/pem/src/errors.ts": {
    pem: pemText("a private key"),
    passphrase: { type: "string", why: "the key's passphrase" },
  },
  "packages/pem/src/keys.ts": { keyPem: pemText("the private key"), certPem: pemText("the certificate") },
  "packages/pem/src/policy.ts": {
    leaf: pemText("the end-entity certificate"),
    trusted: { type: "string[]", why: "the trusted CAs as PEM text" },
    pem: pemText("a certificate"),
    info: { type: "CertificateInfo", why: "a certificate as inspectCertificate describes it" },
  },
  "packages/pem/src/trust-store.ts": { brokerCertificatePem: pemText("the broker's certificate") },
  "packages/pki/src/errors.ts": { error: caughtError },
  "packages/pki/src/keys.ts": { pem: pemText("a public key or certificate") },
  "packages/pki/src/pkcs12.ts": {
    privateKey: { type: 'import("node:crypto").KeyObject', why: "the leaf's private key" },
    leafDer: { type: "Buffer", why: "the leaf certificate, DER" },
    intermediateDer: { type: "Buffer", why: "the intermediate CA certificate, DER" },
    passphrase: { type: "string", why: "the bundle's passphrase" },
  },
  "packages/security-config/src/presented-chain.ts": {
    plant: { type: "Profile", why: "a profile from defineProfile" },
    result: {
      type: 'Awaited<ReturnType<typeof import("@proj/mqtt-tls").probe>>',
      why: "a probe of the broker, from @proj/mqtt-tls",
    },
  },
  "packages/security-config/src/profiles.ts": { config },
  "packages/security-config/src/redact.ts": { config },
  "packages/security-config/src/resolve.ts": { loaded },
  "packages/security-config/src/validate.ts": {
    loaded,
    value: { type: "string | object", why: "a configuration, a path to one, or one loaded already" },
  },
};

/** Modules of the reader's own by the file whose examples import them, by file name (`acme-plc.ts`). */
export const FREE_MODULES: Readonly<Record<string, Readonly<Record<string, FreeModule>>>> = {
  "packages/adapter-kit/src/testing.ts": {
    "acme-plc.ts": {
      source: 'import type { Adapter } from "@proj/adapter-kit";\nexport declare const acmePlc: Adapter;',
      why: "the reader's adapter, written with defineAdapter",
    },
  },
};
