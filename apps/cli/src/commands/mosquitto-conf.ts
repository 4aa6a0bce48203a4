import { defaultPort } from "@proj/security-config";
import { resolve } from "node:path";
import { listenerInputs } from "../listener-inputs.js";
import { CliError } from "../errors.js";
import { colorsFor, type CliIo } from "../io.js";
import { mosquittoListener } from "../mosquitto.js";

export interface MosquittoConfOptions {
  config: string;
  certfile?: string;
  keyfile?: string;
  crlfile?: string;
  aclFile?: string;
  color?: boolean;
}

/**
 * `mqtt-tls mosquitto-conf`: the Mosquitto listener block that matches a client configuration: the port of its URL,
 * the CA that issued the client's certificate as `cafile`, `require_certificate` and `use_identity_as_username`
 * for mutual TLS, the minimum TLS version, the cipher list, and `set_tcp_nodelay`.
 */
export async function mosquittoConf(options: MosquittoConfOptions, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const inputs = await listenerInputs(options.config, io, options.color);
  if (typeof inputs === "number") return inputs;
  const { resolved, cafile } = inputs;
  const { security, broker } = resolved.config;
  const url = resolved.urls[0]!;
  const cafileComment = inputs.clientIssuer
    ? `cafile: the CA that issued ${inputs.clientIssuer}`
    : inputs.cafileComment;
  if (options.aclFile !== undefined && !security.sendClientCertificate)
    throw new CliError(
      "USAGE",
      "--acl-file keys the ACL on client certificates, and this configuration sends none",
      {
        remedy: 'Set "sendClientCertificate": true with a key store (mutual TLS), or leave --acl-file out.',
      },
    );
  const serverName = security.serverName ?? url.host;
  io.stdout(
    `# mosquitto.conf listener for ${broker.clientId ?? "this client"} → ${url.display}\n` +
      mosquittoListener({
        port: defaultPort(url),
        // The URL is the client's view (NAT, a forwarded port, a container may lie between): bind it only for loopback.
        ...(url.host === "127.0.0.1" || url.host === "::1" ? { bindAddress: url.host } : {}),
        websockets: url.scheme === "wss" || url.scheme === "ws",
        ...(cafile ? { cafile } : {}),
        cafileComment,
        // Absolute, as cafile: Mosquitto resolves relative paths from its own working folder, not this one.
        certfile: options.certfile
          ? resolve(io.cwd, options.certfile)
          : "/etc/mosquitto/certs/server-chain.crt",
        keyfile: options.keyfile ? resolve(io.cwd, options.keyfile) : "/etc/mosquitto/certs/server.key",
        certComment: `the broker's certificate (with ${url.isIp ? "IP" : "DNS"}:${serverName} in its subjectAltName), then its intermediates`,
        requireCertificate: security.sendClientCertificate,
        tlsVersion: security.minTlsVersion === "TLSv1.3" ? "tlsv1.3" : "tlsv1.2",
        ...(security.ciphers ? { ciphers: security.ciphers } : {}),
        ...(options.crlfile ? { crlfile: resolve(io.cwd, options.crlfile) } : {}),
        ...(options.aclFile ? { aclFile: resolve(io.cwd, options.aclFile) } : {}),
        ...(security.sendClientCertificate && resolved.config.security.profile === "iec62351-3"
          ? { crlfileComment: "IEC 62351-3: revoke client certificates with the issuing CA's CRL" }
          : {}),
      }),
  );
  if (inputs.hasErrors) {
    io.stderr(
      `\n${c.yellow("▲")} The configuration itself has errors: run mqtt-tls doctor -c ${options.config}\n`,
    );
  }
  return 0;
}
