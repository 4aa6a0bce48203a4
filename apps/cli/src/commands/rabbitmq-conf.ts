import { defaultPort } from "@proj/security-config";
import { inspectCertificate } from "@proj/pem";
import { resolve } from "node:path";
import { listenerInputs } from "../listener-inputs.js";
import { colorsFor, type CliIo } from "../io.js";

export interface RabbitMqConfOptions {
  config: string;
  certfile?: string;
  keyfile?: string;
  /** The MQTT listener's port. @default the URL's */
  port?: number;
  color?: boolean;
}

/** A value for rabbitmq.conf: its parser takes the rest of the line, so only line breaks must not get in. */
function confValue(value: string): string {
  return value.replace(/[\r\n]+/g, " ");
}

/** Single-quoted for a POSIX shell. */
function shellQuoted(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/**
 * `mqtt-tls rabbitmq-conf`: the `rabbitmq.conf` lines (RabbitMQ 3.x, MQTT plugin) of a TLS listener that matches a
 * client configuration: the port of its URL, the CA that issued the client's certificate, `verify_peer` with
 * `fail_if_no_peer_cert` and `ssl_cert_login` (the certificate's CN is the user) for mutual TLS, the TLS versions
 * from the minimum up, and the ciphers. Says on stderr what RabbitMQ will not do for this client (MQTT 5).
 */
export async function rabbitmqConf(options: RabbitMqConfOptions, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const inputs = await listenerInputs(options.config, io, options.color);
  if (typeof inputs === "number") return inputs;
  const { resolved, cafile } = inputs;
  const { security, broker } = resolved.config;
  const url = resolved.urls[0]!;
  const port = options.port ?? defaultPort(url);
  const mutual = security.sendClientCertificate;
  const certLogin = mutual && broker.username === undefined;
  const loopback = url.host === "127.0.0.1" || url.host === "::1" || url.host === "localhost";
  const lines = [
    `# rabbitmq.conf: MQTT over TLS for ${broker.clientId ?? "this client"} → ${url.display}`,
    "# needs the MQTT plugin: rabbitmq-plugins enable rabbitmq_mqtt",
    "# no plain MQTT listener: every client comes over TLS",
    "mqtt.listeners.tcp = none",
    loopback
      ? `mqtt.listeners.ssl.default = ${url.host === "::1" ? "::1" : "127.0.0.1"}:${port}`
      : `# without an address the listener binds every interface: add the broker's, e.g. mqtt.listeners.ssl.default = 10.0.0.5:${port}\nmqtt.listeners.ssl.default = ${port}`,
  ];
  if (cafile) lines.push(`# ${inputs.cafileComment}`, `ssl_options.cacertfile = ${confValue(cafile)}`);
  else
    lines.push(
      `# ${inputs.clientIssuer ? `the CA that issued ${inputs.clientIssuer}` : inputs.cafileComment}`,
      "ssl_options.cacertfile = /etc/rabbitmq/certs/ca.crt",
    );
  const keyfile = confValue(
    options.keyfile ? resolve(io.cwd, options.keyfile) : "/etc/rabbitmq/certs/server.key",
  );
  lines.push(
    `# the broker's certificate (with ${url.isIp ? "IP" : "DNS"}:${security.serverName ?? url.host} in its subjectAltName), then its intermediates`,
    `ssl_options.certfile = ${confValue(options.certfile ? resolve(io.cwd, options.certfile) : "/etc/rabbitmq/certs/server-chain.crt")}`,
    `# RabbitMQ reads the key as user rabbitmq: chown rabbitmq ${keyfile} && chmod 600 ${keyfile}`,
    `ssl_options.keyfile = ${keyfile}`,
  );
  if (mutual)
    lines.push(
      "# a client without a certificate the CA verifies is refused in the handshake",
      "ssl_options.verify = verify_peer",
      "ssl_options.fail_if_no_peer_cert = true",
    );
  else lines.push("ssl_options.verify = verify_none", "ssl_options.fail_if_no_peer_cert = false");
  const versions = security.minTlsVersion === "TLSv1.3" ? ["tlsv1.3"] : ["tlsv1.3", "tlsv1.2"];
  lines.push(
    `# TLS ${versions.map((v) => v.slice(4)).join(" and ")} only (${security.minTlsVersion} is this client's minimum)`,
    ...versions.map((v, i) => `ssl_options.versions.${i + 1} = ${v}`),
  );
  if (security.ciphers)
    lines.push(...security.ciphers.split(":").map((cipher, i) => `ssl_options.ciphers.${i + 1} = ${cipher}`));
  if (certLogin) {
    const leafPem = resolved.keyStore?.chain[0];
    const cn = leafPem
      ? inspectCertificate(leafPem)?.subject.parts.find((p) => p.type === "CN")?.value
      : undefined;
    const user = shellQuoted(cn ?? "CN");
    lines.push(
      "# the client certificate's CN is the user name: each device needs a user, with no password, e.g.",
      `#   rabbitmqctl add_user ${user} "$(openssl rand -hex 24)" && rabbitmqctl clear_password ${user}`,
      `#   rabbitmqctl set_permissions -p / ${user} '.*' '.*' '.*'`,
      "mqtt.ssl_cert_login = true",
      "ssl_cert_login_from = common_name",
      "mqtt.allow_anonymous = false",
    );
  } else lines.push("# clients log in with username and password", "mqtt.allow_anonymous = false");
  if (resolved.crls.length > 0 || security.profile === "iec62351-3")
    lines.push(
      "# revocation: RabbitMQ checks CRLs only through advanced.config (ssl_options crl_check and crl_cache); see its TLS guide",
    );
  io.stdout(`${lines.join("\n")}\n`);
  if (broker.protocolVersion === 5)
    io.stderr(
      `${c.yellow("▲")} This client speaks MQTT 5, which RabbitMQ 3.x refuses (it closes the connection): set "protocolVersion": 4.\n`,
    );
  if (inputs.hasErrors)
    io.stderr(
      `\n${c.yellow("▲")} The configuration itself has errors: run mqtt-tls doctor -c ${options.config}\n`,
    );
  return 0;
}
