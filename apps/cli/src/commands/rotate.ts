import { renderFindings, type Finding } from "@proj/findings";
import { loadConfig } from "@proj/security-config";
import { X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CliError } from "../errors.js";
import { colorsFor, type CliIo } from "../io.js";
import { checkAgainstBroker, issueFor, planRotation, switchTo, type RotationPlan } from "../rotate.js";
import { lazyStoreResolver } from "../store.js";

export interface RotateOptions {
  config?: string;
  configs?: string;
  expiringWithin?: number;
  pki?: string;
  csrOut?: string;
  /** A certificate an external CA signed for a CSR this command wrote, with `key`: the second half of a rotation. */
  cert?: string;
  key?: string;
  store?: string;
  dryRun?: boolean;
  json?: boolean;
  color?: boolean;
}

type Status = "planned" | "rotated" | "csr-written" | "refused";

interface Outcome {
  plan: RotationPlan;
  status: Status;
  newSerial?: string;
  backups?: string[];
  version?: number;
  files?: string[];
  finding?: Finding;
}

async function configFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(".json")) out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}

/**
 * `mqtt-tls rotate`: a new key (of a type the device takes), a CSR, a certificate from the lab CA (or the CSR
 * written out for the plant's CA, and its answer imported back), checked against the broker before anything is
 * switched, then switched with the old version kept for rollback.
 */
export async function rotate(options: RotateOptions, io: CliIo): Promise<number> {
  const c = colorsFor(io, options.color === false);
  const sources = [options.pki, options.csrOut, options.cert].filter((s) => s !== undefined).length;
  if ((options.config === undefined) === (options.configs === undefined)) {
    throw new CliError("USAGE", "rotate needs --config FILE, or --configs DIR with --expiring-within DAYS");
  }
  if (options.configs !== undefined && options.expiringWithin === undefined) {
    throw new CliError("USAGE", "--configs needs --expiring-within DAYS: which certificates to rotate", {
      remedy: "mqtt-tls rotate --configs plant/ --expiring-within 30 --pki lab-pki --dry-run",
    });
  }
  if (!options.dryRun && sources !== 1) {
    throw new CliError(
      "USAGE",
      "rotate needs one of --pki DIR, --csr-out DIR, or --cert FILE with --key FILE",
      {
        remedy:
          "Issue from the lab CA (--pki), or write CSRs for your CA (--csr-out) and import its answer (--cert, --key).",
      },
    );
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new CliError(
      "USAGE",
      "--cert and --key go together: the signed certificate and the key of its CSR",
    );
  }
  const paths =
    options.config !== undefined
      ? [resolve(io.cwd, options.config)]
      : await configFiles(resolve(io.cwd, options.configs!));
  const store = lazyStoreResolver(io, options.store);
  const outcomes: Outcome[] = [];
  const findings: Finding[] = [];
  try {
    for (const path of paths) {
      const loaded = await loadConfig(path, { env: io.env, store });
      if (options.configs !== undefined && !loaded.input) continue;
      const plan = await planRotation(loaded, path, io.cwd);
      if (!("target" in plan)) {
        if (options.config !== undefined) findings.push(plan);
        continue;
      }
      if (options.expiringWithin !== undefined && plan.daysLeft > options.expiringWithin) continue;
      if (options.dryRun) {
        outcomes.push({ plan, status: "planned" });
        continue;
      }
      if (options.csrOut !== undefined) {
        const { createCsr } = await import("@proj/pki");
        const request = await createCsr({ subject: plan.subject, keyType: plan.keyType });
        const out = resolve(io.cwd, options.csrOut);
        await mkdir(out, { recursive: true });
        const base = join(
          out,
          (/CN=([^,]+)/.exec(plan.subject)?.[1] ?? "device").replace(/[^A-Za-z0-9._-]+/g, "_"),
        );
        await writeFile(`${base}.key`, request.keyPem, { mode: 0o600 });
        await chmod(`${base}.key`, 0o600);
        await writeFile(`${base}.csr`, request.csr);
        outcomes.push({ plan, status: "csr-written", files: [`${base}.csr`, `${base}.key`] });
        continue;
      }
      const issued = await issueFor(
        plan,
        options.pki !== undefined
          ? { pki: resolve(io.cwd, options.pki) }
          : {
              certificate: await readFile(resolve(io.cwd, options.cert!), "utf8"),
              keyPem: await readFile(resolve(io.cwd, options.key!), "utf8"),
            },
      );
      const refused = await checkAgainstBroker(loaded, plan, issued, io);
      if (refused) {
        outcomes.push({ plan, status: "refused", finding: refused });
        findings.push({
          ...refused,
          message: `${plan.shownAs}: the broker refused the new certificate; nothing was switched. ${refused.message}`,
        });
        continue;
      }
      const switched = await switchTo(plan, issued, async (item, chain, keyPem) => {
        const { item: added } = await (await store.open()).add(item, { certificates: [chain], key: keyPem });
        return added.version;
      });
      outcomes.push({
        plan,
        status: "rotated",
        newSerial: new X509Certificate(issued.chain).serialNumber.toUpperCase(),
        ...switched,
      });
    }
  } finally {
    await store.close();
  }
  const ok = findings.every((f) => f.severity !== "error");
  if (options.json) {
    const rotations = outcomes.map(({ plan, ...rest }) => ({
      config: plan.shownAs,
      subject: plan.subject,
      serial: plan.serial,
      notAfter: plan.notAfter.toISOString(),
      daysLeft: plan.daysLeft,
      keyType: plan.keyType,
      target: plan.target,
      ...rest,
    }));
    io.stdout(`${JSON.stringify({ ok, findings, rotations }, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  if (outcomes.length === 0 && findings.length === 0) io.stdout("Nothing to rotate.\n");
  for (const { plan, status, newSerial, backups, version, files } of outcomes) {
    const where = plan.target.kind === "store" ? `store:${plan.target.item}` : plan.target.certificate;
    const head = `${plan.shownAs}: ${plan.subject}, ${plan.daysLeft} day(s) left, new ${plan.keyType} key → ${where}`;
    if (status === "planned") io.stdout(`${c.dim("·")} ${head}\n`);
    if (status === "rotated")
      io.stdout(
        `${c.green("✔")} ${head}\n    new serial ${newSerial}${version !== undefined ? `, version ${version}` : ""}${backups?.length ? `; the old files kept as ${backups.join(", ")}` : ""}\n`,
      );
    if (status === "csr-written")
      io.stdout(
        `${c.yellow("▲")} ${head}\n    have ${files![0]} signed by your CA, then: mqtt-tls rotate --config ${plan.shownAs} --cert SIGNED.crt --key ${files![1]}\n`,
      );
  }
  if (findings.length > 0) io.stderr(renderFindings(findings, c));
  return ok ? 0 : 1;
}
