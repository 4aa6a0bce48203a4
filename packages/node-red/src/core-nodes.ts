import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { FINDING_CATALOGUE, createFinding, type Finding, type FindingCode } from "@proj/findings";
import { parsePem } from "@proj/pem";
import type { BuiltConfig } from "./broker-config.js";
import type { NodeDefinition } from "./red.js";

/** The credentials Node-RED keeps for a core `mqtt-broker` node. */
export interface CoreBrokerCredentials {
  user?: string;
  password?: string;
}

/** The credentials Node-RED keeps for a core `tls-config` node: uploads (read as UTF-8 text) and the passphrase. */
export interface CoreTlsCredentials {
  certdata?: string;
  keydata?: string;
  cadata?: string;
  passphrase?: string;
}

/** A finding of a Node-RED trap, with the catalogue's remedy. */
const trap = (code: FindingCode, message: string, path: string): Finding =>
  createFinding(code, "error", message, { path, remedy: FINDING_CATALOGUE[code].remedy });

const text = (value: unknown): string =>
  typeof value === "string" ? value.trim() : typeof value === "number" ? String(value) : "";
const truthy = (value: unknown): boolean => value === true || value === "true";

/**
 * The URL Node-RED's core `mqtt-broker` node connects to: its `broker` field when that is a URL, else one built
 * from "Use TLS", the host and the port, as the node itself builds it.
 */
function coreBrokerUrl(broker: NodeDefinition): string {
  const host = text(broker.broker);
  if (host.includes("://")) return host;
  const scheme = truthy(broker.usetls) ? "mqtts" : "mqtt";
  const shownHost = host === "" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `${scheme}://${shownHost}:${text(broker.port) || "1883"}`;
}

/**
 * Reads a core `mqtt-broker` node and its `tls-config` node as Node-RED would use them, finds the traps that make
 * them connect insecurely or fail without a word, and builds the section 3 configuration that connects the same
 * way, so a live probe tells what Node-RED will meet:
 * - `NODE_RED_MQTTS_WITHOUT_TLS`: an mqtts:// or wss:// URL with "Use TLS" unticked (no certificate check at all);
 * - `NODE_RED_VERIFY_OFF`: "Verify server certificate" unticked;
 * - `NODE_RED_CA_UNREADABLE_FALLBACK`: a CA path the runtime cannot read (Node-RED falls back to the system CAs);
 * - `NODE_RED_UPLOAD_NOT_PEM`: an upload that is not PEM (Node-RED read it as UTF-8 and corrupted a DER file).
 * Relative paths are read from `baseDir`, as Node-RED reads them: from its working folder.
 *
 * @example
 * ```ts
 * const { findings } = await readCoreBroker(
 *   { id: "b1", type: "mqtt-broker", broker: "mqtts://plc.local:8883", usetls: false, tls: "t1" },
 *   { id: "t1", type: "tls-config", ca: "/etc/plant/ca.pem", verifyservercert: true },
 * );
 * findings[0]?.code; // "NODE_RED_MQTTS_WITHOUT_TLS"
 * ```
 */
export async function readCoreBroker(
  broker: NodeDefinition,
  tls: NodeDefinition | undefined,
  brokerCredentials: CoreBrokerCredentials = {},
  tlsCredentials: CoreTlsCredentials = {},
  baseDir = process.cwd(),
): Promise<BuiltConfig> {
  const findings: Finding[] = [];
  const url = coreBrokerUrl(broker);
  const tlsUrl = /^(mqtts|wss|tls|ssl):\/\//i.test(url);
  const useTls = truthy(broker.usetls);
  const label = `the broker node "${text(broker.name) || url}"`;
  const tlsLabel = tls ? `the TLS configuration "${text(tls.name) || tls.id}"` : "";

  if (tlsUrl && !useTls)
    findings.push(
      trap(
        "NODE_RED_MQTTS_WITHOUT_TLS",
        `${label} connects to ${url} with "Use TLS" unticked: Node-RED opens TLS but checks no certificate${tls ? `, and ignores ${tlsLabel}` : ""}.`,
        "mqtt-broker.usetls",
      ),
    );
  const tlsInUse = useTls && tls !== undefined;
  // The TLS node's setting; without one (an older flow), the broker node's (10-mqtt.js does the same).
  const verify =
    tlsInUse && tls.verifyservercert !== undefined
      ? truthy(tls.verifyservercert)
      : truthy(broker.verifyservercert);
  if (useTls && !verify)
    findings.push(
      trap(
        "NODE_RED_VERIFY_OFF",
        tlsInUse
          ? `${tlsLabel} has "Verify server certificate" unticked: any broker is accepted.`
          : `${label} uses TLS without a TLS configuration that verifies the broker: any broker is accepted.`,
        tlsInUse ? "tls-config.verifyservercert" : "mqtt-broker.tls",
      ),
    );

  const security: Record<string, unknown> = {
    enableTls: tlsUrl || useTls,
    checkServerCertificate: verify,
    sendClientCertificate: false,
  };
  if (tlsInUse) {
    const files = await readCoreTlsFiles(tls, tlsCredentials, baseDir, tlsLabel);
    findings.push(...files.findings);
    if (files.ca) security.trustStore = [files.ca];
    if (files.cert && files.key) {
      security.sendClientCertificate = true;
      security.keyStore = {
        certificate: files.cert,
        privateKey: files.key,
        ...(tlsCredentials.passphrase ? { passphrase: tlsCredentials.passphrase } : {}),
      };
    }
    if (text(tls.servername)) security.serverName = text(tls.servername);
    if (text(tls.alpnprotocol)) security.alpn = [text(tls.alpnprotocol)];
  }
  if (!security.enableTls) {
    delete security.checkServerCertificate;
    delete security.sendClientCertificate;
  }

  const version = Number(broker.protocolVersion);
  const config = {
    broker: {
      url,
      ...(text(broker.clientid) ? { clientId: text(broker.clientid) } : {}),
      ...(brokerCredentials.user ? { username: brokerCredentials.user } : {}),
      ...(brokerCredentials.password ? { password: brokerCredentials.password } : {}),
      ...(version === 3 || version === 5 ? { protocolVersion: version } : {}),
    },
    security,
  };
  return { config, findings };
}

const FILE_FIELDS = [
  ["ca", "cadata", "CA"],
  ["cert", "certdata", "certificate"],
  ["key", "keydata", "private key"],
] as const;

/**
 * The files a core tls-config node gives its connection, as its code decides (05-tls.js): when any path is set,
 * the paths and nothing uploaded; else the uploads. A certificate without its key, or one path that cannot be read,
 * makes the node invalid, and then it gives no file at all: the configured CA is dropped too, so Node-RED falls
 * back to the system's CAs (`NODE_RED_CA_UNREADABLE_FALLBACK`). An upload that is not PEM was read as UTF-8 text
 * by the core editor (`NODE_RED_UPLOAD_NOT_PEM`).
 */
async function readCoreTlsFiles(
  tls: NodeDefinition,
  credentials: CoreTlsCredentials,
  baseDir: string,
  tlsLabel: string,
): Promise<{ ca?: string; cert?: string; key?: string; findings: Finding[] }> {
  const findings: Finding[] = [];
  const paths = { ca: text(tls.ca), cert: text(tls.cert), key: text(tls.key) };
  const fromPaths = paths.ca !== "" || paths.cert !== "" || paths.key !== "";
  const given: Partial<Record<"ca" | "cert" | "key", string>> = {};
  const problems: string[] = [];
  for (const [field, upload, what] of FILE_FIELDS) {
    if (fromPaths) {
      if (!paths[field]) continue;
      const full = isAbsolute(paths[field]) ? paths[field] : resolve(baseDir, paths[field]);
      try {
        await access(full, constants.R_OK);
        given[field] = full;
      } catch (error) {
        const reason =
          (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "cannot be read";
        problems.push(`the ${what} file ${paths[field]} ${reason} on the Node-RED host`);
        if (field !== "ca")
          findings.push(
            createFinding(
              "FILE_NOT_FOUND",
              "error",
              `${tlsLabel}: the ${what} file ${paths[field]} ${reason}.`,
              {
                path: `tls-config.${field}`,
                remedy: "Give a path the Node-RED process can read, or clear the paths and upload the files.",
              },
            ),
          );
      }
      continue;
    }
    const data = credentials[upload] ?? "";
    if (!data) continue;
    if (data.includes("-----BEGIN ")) {
      given[field] = data;
      continue;
    }
    const corrupted = data.includes("\uFFFD") || parsePem(data).format !== "base64";
    findings.push(
      trap(
        "NODE_RED_UPLOAD_NOT_PEM",
        `The ${what} uploaded in ${tlsLabel} is not PEM${corrupted ? ": it was a binary (DER or PKCS#12) file, and Node-RED's upload read it as UTF-8 text, which corrupted it" : ""}.`,
        `tls-config.${upload}`,
      ),
    );
  }
  const certWithoutKey = fromPaths
    ? (paths.cert !== "") !== (paths.key !== "")
    : !!credentials.certdata !== !!credentials.keydata;
  if (certWithoutKey)
    problems.push("it has a client certificate without its key, or a key without its certificate");
  if (problems.length === 0) return { ...given, findings };
  // Node-RED marks the node invalid and gives the connection none of its files.
  if (fromPaths ? paths.ca !== "" : !!credentials.cadata)
    findings.unshift(
      trap(
        "NODE_RED_CA_UNREADABLE_FALLBACK",
        `${tlsLabel} is invalid to Node-RED (${problems.join("; ")}): it connects with the system's CAs instead of the CA configured, and sends no client certificate.`,
        fromPaths ? "tls-config.ca" : "tls-config.cadata",
      ),
    );
  else if (certWithoutKey)
    findings.push(
      createFinding(
        "KEY_STORE_MISSING",
        "error",
        `${tlsLabel} ${problems.at(-1)}: Node-RED sends no client certificate.`,
        {
          path: "tls-config.key",
          remedy: "Give both the certificate and its private key.",
        },
      ),
    );
  return { findings };
}
