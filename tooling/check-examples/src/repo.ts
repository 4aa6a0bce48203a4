import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root folder. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Where the snippets are written to be type-checked (git-ignored, rewritten on every run). */
export const GENERATED_DIR = join(ROOT, "tooling/check-examples/.generated");

/** A workspace package, as its package.json declares it. */
export interface WorkspacePackage {
  readonly name: string;
  /** Absolute folder. */
  readonly dir: string;
  readonly private: boolean;
  /** `@proj/*` packages a user of this one has installed with it: its dependencies and peer dependencies. */
  readonly projDependencies: readonly string[];
  /** Each export subpath (`@proj/x`, `@proj/x/testing`) with the source file its `@proj/source` condition names. */
  readonly entries: readonly { readonly specifier: string; readonly file: string }[];
}

interface Manifest {
  name: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  exports?: Record<string, unknown>;
}

/** Repository-relative path with forward slashes, as failures print it. */
export function repoPath(file: string): string {
  return relative(ROOT, file).split(sep).join("/");
}

function sourceEntry(target: unknown): string | undefined {
  if (target === null || typeof target !== "object") return undefined;
  const source = (target as Record<string, unknown>)["@proj/source"];
  return typeof source === "string" ? source : undefined;
}

/** Every package of the workspace (packages/*, apps/*, tooling/*), by name. */
export function workspacePackages(): Map<string, WorkspacePackage> {
  const packages = new Map<string, WorkspacePackage>();
  for (const group of ["packages", "apps", "tooling"]) {
    const groupDir = join(ROOT, group);
    if (!existsSync(groupDir)) continue;
    for (const entry of readdirSync(groupDir, { withFileTypes: true })) {
      const dir = join(groupDir, entry.name);
      const manifestFile = join(dir, "package.json");
      if (!entry.isDirectory() || !existsSync(manifestFile)) continue;
      const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
      const entries = Object.entries(manifest.exports ?? {}).flatMap(([subpath, target]) => {
        const source = sourceEntry(target);
        return source === undefined
          ? []
          : [{ specifier: join(manifest.name, subpath).split(sep).join("/"), file: resolve(dir, source) }];
      });
      const projDependencies = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }).filter(
        (name) => name.startsWith("@proj/"),
      );
      packages.set(manifest.name, {
        name: manifest.name,
        dir,
        private: manifest.private === true,
        projDependencies,
        entries,
      });
    }
  }
  return packages;
}

/** The workspace package a file belongs to, if any. */
export function packageOf(
  file: string,
  packages: ReadonlyMap<string, WorkspacePackage>,
): WorkspacePackage | undefined {
  let best: WorkspacePackage | undefined;
  for (const pkg of packages.values()) {
    if (file.startsWith(pkg.dir + sep) && (!best || pkg.dir.length > best.dir.length)) best = pkg;
  }
  return best;
}

/** The READMEs a user reads: the repository's, and each package's and app's. */
export function readmeFiles(): string[] {
  const files = [join(ROOT, "README.md")];
  for (const group of ["packages", "apps"]) {
    const groupDir = join(ROOT, group);
    if (!existsSync(groupDir)) continue;
    for (const entry of readdirSync(groupDir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const readme = join(groupDir, entry.name, "README.md");
      if (entry.isDirectory() && existsSync(readme)) files.push(readme);
    }
  }
  return files.filter((file) => existsSync(file));
}

function walkTs(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === "dist") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walkTs(path, out);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") && !entry.name.endsWith(".d.ts"))
      out.push(path);
  }
}

/** The source files of packages and apps (`src/**\/*.ts`, tests left out), where TSDoc examples live. */
export function sourceFiles(): string[] {
  const files: string[] = [];
  for (const group of ["packages", "apps"]) {
    const groupDir = join(ROOT, group);
    if (!existsSync(groupDir)) continue;
    for (const entry of readdirSync(groupDir, { withFileTypes: true })) {
      const src = join(groupDir, entry.name, "src");
      if (entry.isDirectory() && existsSync(src)) walkTs(src, files);
    }
  }
  return files.sort();
}

/** The public entry points whose exports must all be documented: each package's and the CLI's `src/index.ts`. */
export function publicIndexFiles(): string[] {
  const files: string[] = [];
  const packagesDir = join(ROOT, "packages");
  if (existsSync(packagesDir)) {
    for (const entry of readdirSync(packagesDir, { withFileTypes: true })) {
      const index = join(packagesDir, entry.name, "src/index.ts");
      if (entry.isDirectory() && existsSync(index)) files.push(index);
    }
  }
  const cli = join(ROOT, "apps/cli/src/index.ts");
  if (existsSync(cli)) files.push(cli);
  return files.sort();
}
