import { accessSync, constants } from "node:fs";
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

const text = (value: unknown): string => (typeof value === "string" ? value.trim() : "");
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
 * Relative paths are read from `baseDir` (Node-RED's working folder).
 *
 * @example
 * ```ts
 * const { findings } = readCoreBroker(
 *   { id: "b1", type: "mqtt-broker", broker: "mqtts://plc.local:8883", usetls: false, tls: "t1" },
 *   { id: "t1", type: "tls-config", ca: "/etc/plant/ca.pem", verifyservercert: true },
 * );
 * findings[0]?.code; // "NODE_RED_MQTTS_WITHOUT_TLS"
 * ```
 */
export function readCoreBroker(
  broker: NodeDefinition,
  tls: NodeDefinition | undefined,
  brokerCredentials: CoreBrokerCredentials = {},
  tlsCredentials: CoreTlsCredentials = {},
  baseDir = process.cwd(),
): BuiltConfig {
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
  const verify = tlsInUse ? truthy(tls.verifyservercert) : truthy(broker.verifyservercert);
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
    const file = (field: "ca" | "cert" | "key", upload: "cadata" | "certdata" | "keydata") => {
      const path = text(tls[field]);
      if (path) {
        const full = isAbsolute(path) ? path : resolve(baseDir, path);
        try {
          accessSync(full, constants.R_OK);
          return full;
        } catch (error) {
          const reason =
            (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "cannot be read";
          findings.push(
            field === "ca"
              ? trap(
                  "NODE_RED_CA_UNREADABLE_FALLBACK",
                  `${tlsLabel} names the CA file ${path}, which ${reason} on the Node-RED host: Node-RED marks the configuration invalid and connects with the system's CAs instead.`,
                  "tls-config.ca",
                )
              : createFinding(
                  "FILE_NOT_FOUND",
                  "error",
                  `${tlsLabel} names the ${field === "cert" ? "certificate" : "private key"} file ${path}, which ${reason} on the Node-RED host: Node-RED sends no client certificate.`,
                  {
                    path: `tls-config.${field}`,
                    remedy: "Give a path the Node-RED process can read, or upload the file.",
                  },
                ),
          );
          return undefined;
        }
      }
      const data = tlsCredentials[upload] ?? "";
      if (!data) return undefined;
      if (data.includes("-----BEGIN ")) return data;
      const corrupted = data.includes("\uFFFD") || parsePem(data).format !== "base64";
      findings.push(
        trap(
          "NODE_RED_UPLOAD_NOT_PEM",
          `The ${field === "ca" ? "CA" : field === "cert" ? "certificate" : "private key"} uploaded in ${tlsLabel} is not PEM${corrupted ? ": it was a binary (DER or PKCS#12) file, and Node-RED's upload read it as UTF-8 text, which corrupted it" : ""}.`,
          `tls-config.${upload}`,
        ),
      );
      return undefined;
    };
    const ca = file("ca", "cadata");
    if (ca) security.trustStore = [ca];
    const cert = file("cert", "certdata");
    const key = file("key", "keydata");
    if (cert && key) {
      security.sendClientCertificate = true;
      security.keyStore = {
        certificate: cert,
        privateKey: key,
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
