import { renderFindings } from "@proj/findings";
import type { ResolvedConfig } from "@proj/security-config";
import { X509Certificate } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import { loadConfigWithStore } from "./store.js";
import { CliError } from "./errors.js";
import { colorsFor, type CliIo } from "./io.js";

/** What a broker's listener settings are generated from: the client's configuration, read once. */
export interface ListenerInputs {
  readonly resolved: ResolvedConfig;
  readonly hasErrors: boolean;
  /** The trust-store file that holds the CA which issued the client's certificate, absolute; when there is one. */
  readonly cafile: string | undefined;
  /** What the CA line is for. */
  readonly cafileComment: string;
  /** The issuer of the client's certificate, when no single trust-store file could be named as its CA. */
  readonly clientIssuer: string | undefined;
}

/**
 * Reads a client configuration for a listener generator (`mosquitto-conf`, `rabbitmq-conf`), and finds the CA that
 * issued the client's certificate in its trust store: the broker must trust that one for client certificates.
 * Returns the exit code instead when the configuration cannot be read (its findings go to stderr).
 */
export async function listenerInputs(
  config: string,
  io: CliIo,
  color: boolean | undefined,
): Promise<ListenerInputs | number> {
  const c = colorsFor(io, color === false);
  const path = resolve(io.cwd, config);
  const { resolved, findings } = await loadConfigWithStore(path, { env: io.env }, io);
  if (!resolved) {
    const unreadable = findings.some((f) => f.code === "FILE_NOT_FOUND" || f.code === "FILE_UNREADABLE");
    io.stderr(renderFindings(findings, c));
    if (unreadable) throw new CliError("CONFIG_UNREADABLE", `cannot read ${config}`);
    return 1;
  }
  const { security } = resolved.config;
  if (!security.enableTls)
    io.stderr(
      `${c.yellow("▲")} TLS is off in this configuration: the settings below are for the TLS listener it should use.\n`,
    );
  let cafile: string | undefined;
  let cafileComment = "verifies client certificates: the CA that issued them";
  let clientIssuer: string | undefined;
  const top = resolved.keyStore?.chain.at(-1);
  const trustFiles = [security.trustStore ?? []].flat().filter((entry) => !entry.includes("-----BEGIN "));
  if (top && resolved.trustStore) {
    const issued = new X509Certificate(top);
    // The trust store is already indexed: ask it for the candidates, then check the signature.
    const { store } = resolved.trustStore;
    const issuer =
      store.anchors.some((anchor) => anchor.der.equals(issued.raw)) ||
      store.issuersOf(issued.raw).some((anchor) => issued.checkIssued(new X509Certificate(anchor.der)));
    if (issuer && trustFiles.length === 1)
      cafile = isAbsolute(trustFiles[0]!) ? trustFiles[0] : resolve(resolved.baseDir, trustFiles[0]!);
    else clientIssuer = issued.issuer.replaceAll("\n", ", ");
  } else if (trustFiles.length === 1 && !security.sendClientCertificate) {
    cafileComment = "the CA of client certificates, if you later require them";
  }
  return {
    resolved,
    hasErrors: findings.some((f) => f.severity === "error"),
    cafile,
    cafileComment,
    clientIssuer,
  };
}
