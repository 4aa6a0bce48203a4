import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import ts from "typescript";
import { FREE_MODULES, FREE_VARIABLES, NODE_IMPORTS, type FreeName } from "./allowlist.js";
import { baseCompilerOptions } from "./compiler.js";
import type { Block } from "./extract.js";
import type { Failure } from "./report.js";
import { GENERATED_DIR, ROOT, packageOf, type WorkspacePackage } from "./repo.js";

/** "Cannot find name" and its variants: the names an example uses without declaring or importing them. */
const UNRESOLVED_NAME_CODES = new Set([2304, 2552, 2580, 2581, 2582, 2583, 2584, 2591, 2592, 2593, 18004]);

/** The most rounds of adding imports; a declaration added in one round may name a type the next one imports. */
const MAX_ROUNDS = 4;

/** An export of a module: whether it can be imported as a value or only as a type. */
interface ExportedName {
  readonly specifier: string;
  readonly typeOnly: boolean;
}

/** What one example is written as, and what the check added to it. */
interface Snippet {
  readonly block: Block;
  readonly owner: WorkspacePackage | undefined;
  /** Absolute path of the generated module. */
  readonly path: string;
  /** For a TSDoc example: the source file it is in. */
  readonly sourceFile: string | undefined;
  /** Whether the declaration a TSDoc example documents is exported by its package (then only public names). */
  publicSubject: boolean;
  readonly imports: Map<string, ExportedName>;
  readonly nodeImports: Set<string>;
  readonly declares: Map<string, FreeName>;
  /** Names no module exports and no list allows: left for the compiler to report. */
  readonly unresolved: Set<string>;
  headerLines: number;
}

/** Where {@link checkSnippets} writes, and whether it reports allowlist entries no example needed. */
export interface SnippetOptions {
  /** A folder inside this package (so imports resolve as from the repository), emptied first. @default .generated */
  readonly outDir?: string;
  /** Report {@link FREE_VARIABLES} and {@link FREE_MODULES} entries no checked example needed. @default true */
  readonly reportUnusedAllowlist?: boolean;
}

/** The outcome of type-checking every example. */
export interface SnippetResult {
  readonly failures: Failure[];
  /** Examples checked (README blocks and TSDoc examples). */
  readonly checked: number;
  /** Imports the check added, over all examples. */
  readonly addedImports: number;
  /** Free variables declared from {@link FREE_VARIABLES}, over all examples. */
  readonly declaredFreeVariables: number;
}

function slug(file: string): string {
  return file.replace(/\.(md|ts)$/, (ext) => `_${ext.slice(1)}`);
}

/** A README block that starts with `// name.ts` is that file: another block may import it as `./name.js`. */
function fileNameOf(block: Block): string {
  const named = block.subject ? undefined : /^\/\/\s*([\w.-]+\.ts)\s*$/.exec(block.text.split("\n")[0] ?? "");
  return named?.[1] ?? `L${block.line}.ts`;
}

function render(snippet: Snippet): string {
  const bySpecifier = new Map<string, string[]>();
  for (const [name, { specifier, typeOnly }] of [...snippet.imports].sort(([a], [b]) => a.localeCompare(b))) {
    const names = bySpecifier.get(specifier) ?? [];
    names.push(typeOnly ? `type ${name}` : name);
    bySpecifier.set(specifier, names);
  }
  const header = [
    `// ${snippet.block.file}:${snippet.block.line}, written by the example check on every run.`,
    ...[...bySpecifier].map(([specifier, names]) => `import { ${names.join(", ")} } from "${specifier}";`),
    ...[...snippet.nodeImports].map((name) => NODE_IMPORTS[name]!),
    ...[...snippet.declares].flatMap(([, free]) => ("import" in free ? [free.import] : [])),
    ...[...snippet.declares].flatMap(([name, free]) =>
      "type" in free ? [`declare const ${name}: ${free.type};`] : [],
    ),
    "export {};",
  ];
  snippet.headerLines = header.length;
  return `${header.join("\n")}\n${snippet.block.text}\n`;
}

/**
 * Where an import of an example is resolved from: as a user of the packages would. `@proj/x` from inside the
 * package `@proj/x` itself (its exports map, with the `@proj/source` condition), any other package from the
 * package the example belongs to (its dependencies). A relative import is a module of the reader's own: another
 * block of the same file that starts with `// name.ts`, or one of {@link FREE_MODULES}; only an example of a
 * declaration its package does not export imports its source file's neighbours.
 */
function consumerLocation(
  containingFile: string,
  specifier: string,
  packages: ReadonlyMap<string, WorkspacePackage>,
  snippets: ReadonlyMap<string, Snippet>,
): string {
  const snippet = snippets.get(containingFile);
  if (!snippet) return containingFile;
  // An example of a module's internals imports its neighbours; any other means the reader's own modules.
  if (specifier.startsWith("."))
    return snippet.sourceFile && !snippet.publicSubject ? snippet.sourceFile : containingFile;
  if (specifier.startsWith("node:")) return containingFile;
  const name = specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");
  const target = name.startsWith("@proj/") ? packages.get(name) : snippet.owner;
  return target ? join(target.dir, "example.ts") : containingFile;
}

function exportsOf(checker: ts.TypeChecker, file: ts.SourceFile | undefined): Map<string, boolean> {
  const out = new Map<string, boolean>();
  const moduleSymbol = file && checker.getSymbolAtLocation(file);
  if (!moduleSymbol) return out;
  for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
    const typeOnlyExport = (symbol.declarations ?? []).some(
      (d) => ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly),
    );
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    out.set(symbol.name, typeOnlyExport || !(target.flags & ts.SymbolFlags.Value));
  }
  return out;
}

function unresolvedNames(file: ts.SourceFile, diagnostics: readonly ts.Diagnostic[]): Set<string> {
  const names = new Set<string>();
  for (const d of diagnostics) {
    if (!UNRESOLVED_NAME_CODES.has(d.code) || d.start === undefined || d.length === undefined) continue;
    const name = file.text.slice(d.start, d.start + d.length);
    if (/^[A-Za-z_$][\w$]*$/.test(name)) names.add(name);
  }
  return names;
}

function isDeprecated(declaration: ts.Declaration): ts.JSDocDeprecatedTag | undefined {
  return ts.getJSDocDeprecatedTag(declaration);
}

/**
 * Writes each example as a module of its own, adds what a fragment leaves out (imports of what its package
 * exports, the free variables its file allows) and type-checks them all in one program, the way a user's
 * TypeScript would see them. Reports every compiler error and every deprecated API an example uses, at the line
 * of the README or source file.
 */
export function checkSnippets(
  blocks: readonly Block[],
  packages: ReadonlyMap<string, WorkspacePackage>,
  settings: SnippetOptions = {},
): SnippetResult {
  const { outDir = GENERATED_DIR, reportUnusedAllowlist = true } = settings;
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const options = baseCompilerOptions();

  const snippets: Snippet[] = blocks.map((block) => {
    const origin = resolve(ROOT, block.file);
    const dir = join(outDir, slug(block.file));
    return {
      block,
      owner: packageOf(origin, packages),
      path: join(dir, fileNameOf(block)),
      sourceFile: block.subject ? origin : undefined,
      publicSubject: true,
      imports: new Map(),
      nodeImports: new Set(),
      declares: new Map(),
      unresolved: new Set(),
      headerLines: 0,
    };
  });
  const byPath = new Map(snippets.map((s) => [s.path, s]));
  const entryFiles = [...packages.values()].flatMap((pkg) => pkg.entries.map((entry) => entry.file));
  const exampleSources = [...new Set(snippets.flatMap((s) => (s.sourceFile ? [s.sourceFile] : [])))];

  const host = ts.createCompilerHost(options, true);
  const moduleCache = ts.createModuleResolutionCache(ROOT, (name) => name, options);
  host.resolveModuleNameLiterals = (
    literals,
    containingFile,
    redirectedReference,
    opts,
    containingSourceFile,
  ) =>
    literals.map((literal) => {
      const from = consumerLocation(containingFile, literal.text, packages, byPath);
      const mode = ts.getModeForUsageLocation(containingSourceFile, literal, opts);
      return ts.resolveModuleName(literal.text, from, opts, host, moduleCache, redirectedReference, mode);
    });

  // The reader's own modules the examples of a file import, written beside them.
  const freeModules: string[] = [];
  for (const [file, modules] of Object.entries(FREE_MODULES)) {
    for (const [name, { source }] of Object.entries(modules)) {
      const path = join(outDir, slug(file), name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `${source}\n`);
      freeModules.push(path);
    }
  }

  let program: ts.Program | undefined;
  let diagnostics = new Map<Snippet, readonly ts.Diagnostic[]>();
  let publicNames: Map<string, Map<string, ExportedName>> | undefined;
  const moduleExports = new Map<string, Map<string, boolean>>();

  for (let round = 0; round < MAX_ROUNDS; round++) {
    for (const snippet of snippets) {
      mkdirSync(dirname(snippet.path), { recursive: true });
      writeFileSync(snippet.path, render(snippet));
    }
    program = ts.createProgram({
      rootNames: [...snippets.map((s) => s.path), ...freeModules, ...entryFiles, ...exampleSources],
      options,
      host,
      oldProgram: program,
    });
    const checker = program.getTypeChecker();
    if (!publicNames) {
      // What each package's entry points export, in the order a name is looked up.
      publicNames = new Map();
      for (const pkg of packages.values()) {
        const names = new Map<string, ExportedName>();
        for (const entry of pkg.entries) {
          for (const [name, typeOnly] of exportsOf(checker, program.getSourceFile(entry.file))) {
            if (!names.has(name)) names.set(name, { specifier: entry.specifier, typeOnly });
          }
        }
        publicNames.set(pkg.name, names);
      }
      for (const file of exampleSources)
        moduleExports.set(file, exportsOf(checker, program.getSourceFile(file)));
      for (const snippet of snippets) {
        const subject = snippet.block.subject?.statement;
        if (snippet.owner && subject !== undefined)
          snippet.publicSubject = publicNames.get(snippet.owner.name)?.has(subject) ?? false;
      }
    }
    diagnostics = new Map();
    let added = 0;
    for (const snippet of snippets) {
      const file = program.getSourceFile(snippet.path)!;
      const found = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
      diagnostics.set(snippet, found);
      for (const name of unresolvedNames(file, found)) {
        if (snippet.unresolved.has(name)) continue;
        if (addName(snippet, name, publicNames, moduleExports, packages)) added++;
        else snippet.unresolved.add(name);
      }
    }
    if (added === 0) break;
  }

  const failures: Failure[] = [];
  const checker = program!.getTypeChecker();
  for (const snippet of snippets) {
    const file = program!.getSourceFile(snippet.path)!;
    const found = diagnostics.get(snippet) ?? [];
    const { block } = snippet;
    if (block.invalid) {
      if (found.length === 0)
        failures.push({
          file: block.file,
          line: block.line,
          message: "the block is marked <!-- example: invalid --> but type-checks: remove the marker",
        });
      continue;
    }
    for (const d of found) failures.push(toFailure(snippet, file, d));
    failures.push(...deprecatedUses(snippet, file, checker));
  }
  for (const d of [...program!.getOptionsDiagnostics(), ...program!.getGlobalDiagnostics()]) {
    failures.push({
      file: "tooling/check-examples",
      line: 1,
      message: ts.flattenDiagnosticMessageText(d.messageText, " "),
    });
  }
  if (reportUnusedAllowlist) failures.push(...unusedFreeVariables(snippets));
  return {
    failures,
    checked: snippets.length,
    addedImports: snippets.reduce((n, s) => n + s.imports.size + s.nodeImports.size, 0),
    declaredFreeVariables: snippets.reduce((n, s) => n + s.declares.size, 0),
  };
}

/** Finds what an undeclared name is: an export of the example's package or its dependencies, a listed free variable. */
function addName(
  snippet: Snippet,
  name: string,
  publicNames: ReadonlyMap<string, ReadonlyMap<string, ExportedName>>,
  moduleExports: ReadonlyMap<string, ReadonlyMap<string, boolean>>,
  packages: ReadonlyMap<string, WorkspacePackage>,
): boolean {
  const { owner } = snippet;
  const own = owner ? publicNames.get(owner.name)?.get(name) : undefined;
  if (own) {
    snippet.imports.set(name, own);
    return true;
  }
  // An example of a declaration its package does not export documents that module: its neighbours are in scope.
  if (snippet.sourceFile && !snippet.publicSubject) {
    const typeOnly = moduleExports.get(snippet.sourceFile)?.get(name);
    if (typeOnly !== undefined) {
      // Relative imports of such an example resolve from its source file (see consumerLocation).
      const specifier = `./${basename(snippet.sourceFile).replace(/\.ts$/, ".js")}`;
      snippet.imports.set(name, { specifier, typeOnly });
      return true;
    }
  }
  for (const dependency of owner?.projDependencies ?? []) {
    const exported = packages.has(dependency) ? publicNames.get(dependency)?.get(name) : undefined;
    if (exported) {
      snippet.imports.set(name, exported);
      return true;
    }
  }
  if (NODE_IMPORTS[name] !== undefined) {
    snippet.nodeImports.add(name);
    return true;
  }
  const free = FREE_VARIABLES[snippet.block.file]?.[name];
  if (free) snippet.declares.set(name, free);
  return free !== undefined;
}

function toFailure(snippet: Snippet, file: ts.SourceFile, d: ts.Diagnostic): Failure {
  const { block } = snippet;
  const message = `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
  if (d.start === undefined) return { file: block.file, line: block.line, message };
  const { line } = file.getLineAndCharacterOfPosition(d.start);
  if (line < snippet.headerLines) {
    const added = file.text.split("\n")[line] ?? "";
    return { file: block.file, line: block.line, message: `${message} (in a line the check adds: ${added})` };
  }
  return { file: block.file, line: block.line + line - snippet.headerLines, message };
}

/** Uses of a workspace API marked `@deprecated`: an example shows the API to use, not the one on its way out. */
function deprecatedUses(snippet: Snippet, file: ts.SourceFile, checker: ts.TypeChecker): Failure[] {
  const failures: Failure[] = [];
  const codeStart = file.getPositionOfLineAndCharacter(snippet.headerLines, 0);
  const subject = snippet.block.subject;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) return;
    if (ts.isIdentifier(node) && node.getStart(file) >= codeStart) {
      const name = node.text;
      let symbol = checker.getSymbolAtLocation(node);
      if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      const declarations = symbol?.declarations ?? [];
      const inWorkspace = declarations.every(
        (d) =>
          d.getSourceFile().fileName.startsWith(ROOT + sep) &&
          !d.getSourceFile().fileName.includes(`${sep}node_modules${sep}`),
      );
      const tags = declarations.map(isDeprecated);
      if (
        declarations.length > 0 &&
        inWorkspace &&
        tags.every((tag) => tag !== undefined) &&
        name !== subject?.statement &&
        name !== subject?.member
      ) {
        const why = ts.getTextOfJSDocComment(tags[0]!.comment)?.replace(/\s+/g, " ") ?? "";
        const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
        failures.push({
          file: snippet.block.file,
          line: snippet.block.line + line - snippet.headerLines,
          message: `${name} is deprecated${why ? `: ${why}` : ""}`,
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return failures;
}

function unusedFreeVariables(snippets: readonly Snippet[]): Failure[] {
  const used = new Set(
    snippets.flatMap((s) => [...s.declares.keys()].map((name) => `${s.block.file}\0${name}`)),
  );
  const checkedFiles = new Set(snippets.map((s) => s.block.file));
  const failures: Failure[] = [];
  for (const [file, modules] of Object.entries(FREE_MODULES)) {
    for (const name of Object.keys(modules)) {
      const specifier = `./${name.replace(/\.ts$/, ".js")}`;
      if (snippets.some((s) => s.block.file === file && s.block.text.includes(`"${specifier}"`))) continue;
      failures.push({
        file,
        line: 1,
        message: `no example here imports ${specifier}: remove it from FREE_MODULES (tooling/check-examples/src/allowlist.ts)`,
      });
    }
  }
  for (const [file, names] of Object.entries(FREE_VARIABLES)) {
    for (const name of Object.keys(names)) {
      if (used.has(`${file}\0${name}`)) continue;
      failures.push({
        file,
        line: 1,
        message: checkedFiles.has(file)
          ? `no example here needs "${name}": remove it from FREE_VARIABLES (tooling/check-examples/src/allowlist.ts)`
          : `FREE_VARIABLES lists this file, which has no checked example: remove its entry`,
      });
    }
  }
  return failures;
}
