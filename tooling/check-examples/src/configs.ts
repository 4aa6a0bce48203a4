import { createTestPki, type TestPki } from "@proj/pki";
import { loadConfig, parseJsonText } from "@proj/security-config";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import type { Block } from "./extract.js";
import type { Failure } from "./report.js";

/** The passphrase the placeholder private key is encrypted with, whatever `env:` variable names it. */
const PLACEHOLDER_PASSPHRASE = "example-passphrase";

/** The outcome of checking the JSON blocks. */
export interface ConfigResult {
  readonly failures: Failure[];
  /** JSON blocks read. */
  readonly checked: number;
  /** Of those, configurations run through loadConfig. */
  readonly configurations: number;
  /** Warnings and infos of those configurations: not failures, printed so a reader sees them. */
  readonly notes: Failure[];
}

/** JSONC as far as a README uses it: comments and trailing commas removed, strings left alone. */
function stripJsonc(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const end = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(i))?.[0] ?? text.slice(i);
      out += end;
      i += end.length - 1;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const comment = text.slice(i, end < 0 ? text.length : end + 2);
      out += comment.replace(/[^\n]/g, " ");
      i += comment.length - 1;
    } else out += c;
  }
  return out.replace(/,(\s*[}\]])/g, "$1");
}

function isConfiguration(value: unknown): value is Record<string, unknown> {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    ("broker" in value || "security" in value)
  );
}

/** The README line a configuration path (`security.keyStore.privateKey`, `security.crl[0]`) is written on. */
function lineOfPath(block: Block, path: string | undefined): number {
  const lines = block.text.split("\n");
  let at = 0;
  for (const key of (path ?? "")
    .replace(/\[\d+\]/g, "")
    .split(".")
    .filter(Boolean)) {
    const found = lines.findIndex((line, i) => i >= at && line.includes(`"${key}"`));
    if (found < 0) break;
    at = found;
  }
  return block.line + at;
}

function asList(value: unknown): string[] {
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string");
}

/** The paths a configuration names, with what each must hold (inline PEM and `env:` values are not paths). */
function referencedFiles(
  config: Record<string, unknown>,
): { path: string; kind: "ca" | "chain" | "key" | "p12" | "crl" }[] {
  const security = (config.security ?? {}) as Record<string, unknown>;
  const keyStore = (security.keyStore ?? {}) as Record<string, unknown>;
  const files = [
    ...asList(security.trustStore).map((path) => ({ path, kind: "ca" as const })),
    ...asList(keyStore.certificate).map((path) => ({ path, kind: "chain" as const })),
    ...asList(keyStore.privateKey).map((path) => ({ path, kind: "key" as const })),
    ...asList(keyStore.pkcs12).map((path) => ({ path, kind: "p12" as const })),
    ...asList(security.crl).map((path) => ({ path, kind: "crl" as const })),
  ];
  return files.filter(({ path }) => !path.startsWith("env:") && !path.includes("-----BEGIN"));
}

/** Every `env:NAME` the configuration refers to, with the value the check sets. */
function environment(config: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  const passphrase = (
    (config.security as Record<string, unknown> | undefined)?.keyStore as Record<string, unknown> | undefined
  )?.passphrase;
  const visit = (value: unknown): void => {
    if (typeof value === "string" && value.startsWith("env:"))
      env[value.slice(4)] =
        value === passphrase ? PLACEHOLDER_PASSPHRASE : `placeholder-${value.slice(4).toLowerCase()}`;
    else if (value !== null && typeof value === "object") Object.values(value).forEach(visit);
  };
  visit(config);
  return env;
}

/** Writes the files a configuration names, made from a real test PKI, at the paths it names them by. */
async function placeFiles(config: Record<string, unknown>, dir: string, pki: TestPki): Promise<string[]> {
  const keyStore = ((config.security as Record<string, unknown> | undefined)?.keyStore ?? {}) as Record<
    string,
    unknown
  >;
  const written =
    keyStore.passphrase === undefined
      ? undefined
      : typeof keyStore.passphrase === "string" && !keyStore.passphrase.startsWith("env:")
        ? keyStore.passphrase
        : PLACEHOLDER_PASSPHRASE;
  const problems: string[] = [];
  for (const { path, kind } of referencedFiles(config)) {
    if (isAbsolute(path) || path.split(/[\\/]/).includes("..")) {
      problems.push(
        `${path} is outside the configuration's folder: the check cannot provide it; use a relative path`,
      );
      continue;
    }
    const contents =
      kind === "ca"
        ? pki.caPem
        : kind === "chain"
          ? pki.client.chain
          : kind === "key"
            ? written === undefined
              ? pki.client.key
              : pki.client.exportKey({ passphrase: written })
            : kind === "p12"
              ? pki.client.toPkcs12({ passphrase: written ?? "" })
              : (await pki.createCrl({ issuer: "intermediate" })).pem +
                (await pki.createCrl({ issuer: "root" })).pem;
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), contents);
  }
  return problems;
}

/**
 * Checks the JSON blocks of the READMEs. Every `json` block must be strict JSON (what a configuration file is).
 * A block that is a configuration (it has `broker` or `security`) must also be marked `json` and pass
 * `loadConfig` without an error finding: the files it names are made from a real test PKI (a root CA, an
 * intermediate, a client certificate and key, CRLs) at the paths it names, its `env:` variables are set, so the
 * schema, the files and every rule are checked as a user's copy of the block would be.
 */
export async function checkConfigs(blocks: readonly Block[]): Promise<ConfigResult> {
  const failures: Failure[] = [];
  const notes: Failure[] = [];
  let configurations = 0;
  const json = blocks.filter((b) => b.kind === "json");
  if (json.length === 0) return { failures, checked: 0, configurations, notes };
  const work = await mkdtemp(join(tmpdir(), "check-examples-"));
  let pki: TestPki | undefined;
  try {
    for (const [index, block] of json.entries()) {
      const strict = block.language === "json";
      const parsed = parseJsonText(strict ? block.text : stripJsonc(block.text));
      if (!parsed.ok) {
        if (block.invalid) continue;
        const at = /^line (\d+)/.exec(parsed.error);
        failures.push({
          file: block.file,
          line: block.line + (at ? Number(at[1]) - 1 : 0),
          message: `not valid ${strict ? "JSON" : "JSONC"}: ${parsed.error}`,
        });
        continue;
      }
      if (!isConfiguration(parsed.value)) continue;
      configurations++;
      if (!strict) {
        failures.push({
          file: block.file,
          line: block.line - 1,
          message:
            "a configuration file is strict JSON: write the block as ```json, without comments or trailing commas",
        });
        continue;
      }
      pki ??= await createTestPki({ name: "check-examples", intermediate: true, dir: join(work, "pki") });
      const dir = join(work, `config-${index}`);
      await mkdir(dir, { recursive: true });
      for (const problem of await placeFiles(parsed.value, dir, pki))
        failures.push({ file: block.file, line: block.line, message: problem });
      const file = join(dir, "config.json");
      await writeFile(file, block.text);
      const loaded = await loadConfig(file, { env: environment(parsed.value) });
      const errors = loaded.findings.filter((f) => f.severity === "error");
      if (block.invalid) {
        if (errors.length === 0)
          failures.push({
            file: block.file,
            line: block.line,
            message:
              "the configuration is marked <!-- example: invalid --> but loadConfig finds no error: remove the marker",
          });
        continue;
      }
      for (const f of loaded.findings) {
        const entry = {
          file: block.file,
          line: lineOfPath(block, f.path),
          message: `loadConfig: ${f.severity} ${f.code}${f.path ? ` at ${f.path}` : ""}: ${f.message}`,
        };
        (f.severity === "error" ? failures : notes).push(entry);
      }
    }
  } finally {
    await pki?.cleanup();
    await rm(work, { recursive: true, force: true });
  }
  return { failures, checked: json.length, configurations, notes };
}
