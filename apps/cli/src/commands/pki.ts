import { X509Certificate } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import {
  initLabPki,
  issueLabLeaf,
  revokeLabCertificate,
  writeLabCrl,
  type LabKeyType,
  type RevocationReason,
} from "@proj/pki";
import { CliError } from "../errors.js";
import { colorsFor, progress, type CliIo } from "../io.js";
import { mosquittoListener } from "../mosquitto.js";

export interface PkiInitOptions {
  dir: string;
  key?: LabKeyType;
  name?: string;
  intermediate?: boolean;
  json?: boolean;
  color?: boolean;
}

export interface PkiIssueOptions {
  dir: string;
  name: string;
  dns?: string[];
  ip?: string[];
  days?: number;
  key?: LabKeyType;
  json?: boolean;
  color?: boolean;
}

export interface PkiRevokeOptions {
  dir: string;
  name?: string;
  serial?: string;
  reason?: RevocationReason;
  json?: boolean;
  color?: boolean;
}

export interface PkiCrlOptions {
  dir: string;
  days?: number;
  json?: boolean;
  color?: boolean;
}

/** `mqtt-tls pki revoke`: records revocations by name or serial, and says what to do next. */
export async function pkiRevoke(options: PkiRevokeOptions, io: CliIo): Promise<number> {
  if ((options.name === undefined) === (options.serial === undefined)) {
    throw new CliError("USAGE", "pki revoke needs either --name or --serial", {
      remedy: "mqtt-tls pki revoke --dir lab-pki --name line1-nx3004",
    });
  }
  const c = colorsFor(io, options.color === false);
  const revoked = await revokeLabCertificate({
    dir: options.dir,
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.serial === undefined ? {} : { serial: options.serial }),
    ...(options.reason === undefined ? {} : { reason: options.reason }),
  });
  if (options.json) {
    io.stdout(`${JSON.stringify({ ok: true, findings: [], revoked }, null, 2)}\n`);
    return 0;
  }
  if (revoked.length === 0) io.stdout(`${c.dim("·")} already revoked: nothing new recorded\n`);
  for (const entry of revoked)
    io.stdout(
      `${c.green("✔")} revoked ${entry.name ?? ""} (serial ${entry.serial})${entry.reason ? `, ${entry.reason}` : ""}\n`,
    );
  io.stdout(
    `\n${c.bold("Next")}: write the CRL and give it to the broker\n  mqtt-tls pki crl --dir ${options.dir}\n` +
      `  Mosquitto: crlfile ${options.dir}/crl.pem in the listener (mqtt-tls mosquitto-conf --crlfile), then\n` +
      `  kill -HUP <mosquitto pid>: new connections of a revoked certificate are refused; a device already\n` +
      `  connected stays until it reconnects, so restart Mosquitto to drop it at once.\n`,
  );
  return 0;
}

/** `mqtt-tls pki crl`: writes crl.pem with every recorded revocation. */
export async function pkiCrl(options: PkiCrlOptions, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const crl = await writeLabCrl({ dir: options.dir, ...(options.days ? { days: options.days } : {}) });
  if (options.json) {
    const { pem: _pem, ...rest } = crl;
    io.stdout(`${JSON.stringify({ ok: true, findings: [], crl: rest }, null, 2)}\n`);
    return 0;
  }
  io.stdout(
    `${c.green("✔")} ${crl.file}: ${crl.revoked.length} revoked, next update ${crl.nextUpdate.toISOString()}\n` +
      `  Write it again before then (a CRL past its nextUpdate makes verifiers refuse every client),\n` +
      `  and send Mosquitto SIGHUP after each write: it re-reads its crlfile for new connections.\n`,
  );
  return 0;
}

/** `mqtt-tls pki init`: a lab root CA and intermediate, and what to do next. */
export async function pkiInit(options: PkiInitOptions, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const pki = await initLabPki({
    dir: options.dir,
    ...(options.key ? { keyType: options.key } : {}),
    ...(options.name ? { name: options.name } : {}),
    intermediate: options.intermediate !== false,
    progress: progress(io),
  });
  if (options.json) {
    io.stdout(`${JSON.stringify({ ok: true, findings: [], pki }, null, 2)}\n`);
    return 0;
  }
  io.stdout(`${c.green("✔")} Lab CA in ${options.dir} (${pki.keyType})\n`);
  io.stdout(`    root          ${pki.subjects.root}\n`);
  if (pki.subjects.intermediate) io.stdout(`    intermediate  ${pki.subjects.intermediate}\n`);
  for (const file of pki.files) io.stdout(`    ${c.dim(relative(io.cwd, file) || file)}\n`);
  io.stdout(
    `\n${c.bold("Next")}\n  mqtt-tls pki issue server --dir ${options.dir} --name broker.local --dns broker.local --ip 127.0.0.1\n  mqtt-tls pki issue client --dir ${options.dir} --name line1-plc\n` +
      `\nKeep ${options.dir}/ca.key and intermediate-ca.key offline in real use: whoever holds them can issue certificates your broker trusts.\n`,
  );
  return 0;
}

/** `mqtt-tls pki issue server|client`: a leaf from the lab CA, and the Mosquitto block or config that uses it. */
export async function pkiIssue(
  role: "server" | "client",
  options: PkiIssueOptions,
  io: CliIo,
): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const leaf = await issueLabLeaf({
    dir: options.dir,
    role,
    name: options.name,
    ...(options.dns ? { dns: options.dns } : {}),
    ...(options.ip ? { ip: options.ip } : {}),
    ...(options.days ? { days: options.days } : {}),
    ...(options.key ? { keyType: options.key } : {}),
    progress: progress(io),
  });
  if (options.json) {
    io.stdout(`${JSON.stringify({ ok: true, findings: [], certificate: leaf }, null, 2)}\n`);
    return 0;
  }
  io.stdout(
    `${c.green("✔")} ${role} certificate ${leaf.subject}, valid until ${leaf.notAfter.toISOString().slice(0, 10)}\n`,
  );
  if (leaf.dns.length + leaf.ip.length > 0)
    io.stdout(
      `    names  ${[...leaf.dns.map((d) => `DNS:${d}`), ...leaf.ip.map((a) => `IP:${a}`)].join(", ")}\n`,
    );
  io.stdout(
    `    ${c.dim(leaf.certFile)}\n    ${c.dim(leaf.chainFile)}  (certificate + intermediate)\n    ${c.dim(leaf.keyFile)}  (mode 0600)\n`,
  );
  if (role === "server") {
    io.stdout(
      `\n${c.bold("Next: a Mosquitto listener")} (mosquitto.conf)\n\n${mosquittoListener({
        port: 8883,
        cafile: `${options.dir}/ca.crt`,
        certfile: leaf.chainFile,
        keyfile: leaf.keyFile,
        requireCertificate: true,
        tlsVersion: "tlsv1.2",
      })}\nMosquitto reads the key as user mosquitto: \`chown mosquitto ${leaf.keyFile}\`. Or try it now: mqtt-tls broker --pki ${options.dir} --require-client-cert\n`,
    );
  } else {
    const host = (await serverHostIn(options.dir)) ?? "localhost";
    const config = {
      broker: { url: `mqtts://${host.includes(":") ? `[${host}]` : host}:8883`, clientId: options.name },
      security: {
        trustStore: ["ca.crt"],
        sendClientCertificate: true,
        keyStore: {
          certificate: relative(options.dir, leaf.chainFile),
          privateKey: relative(options.dir, leaf.keyFile),
        },
      },
    };
    io.stdout(
      `\n${c.bold("Next: a configuration")} (save it in ${options.dir}, e.g. as ${options.name}.json; paths are relative to the file)\n\n${JSON.stringify(config, null, 2)}\n\nThen: mqtt-tls doctor -c ${options.dir}/${options.name}.json\n`,
    );
  }
  return 0;
}

/**
 * The host of the newest server certificate issued in a lab PKI folder (its first DNS name, else its first IP), so
 * the configuration a client certificate comes with names a broker that folder can serve; `undefined` when none.
 */
async function serverHostIn(dir: string): Promise<string | undefined> {
  const servers: { from: number; host: string }[] = [];
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (!entry.endsWith("-chain.crt")) continue;
    const cert = await readFile(join(dir, entry), "utf8")
      .then((pem) => new X509Certificate(pem))
      .catch(() => undefined);
    if (!cert?.keyUsage?.includes("1.3.6.1.5.5.7.3.1")) continue;
    const names = (cert.subjectAltName ?? "").split(", ");
    const host =
      names.find((n) => n.startsWith("DNS:"))?.slice(4) ??
      names.find((n) => n.startsWith("IP Address:"))?.slice(11);
    if (host) servers.push({ from: Date.parse(cert.validFrom), host });
  }
  return servers.sort((a, b) => b.from - a.from)[0]?.host;
}
