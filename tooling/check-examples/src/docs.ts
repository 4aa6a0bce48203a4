import { sep } from "node:path";
import ts from "typescript";
import { baseCompilerOptions } from "./compiler.js";
import type { Failure } from "./report.js";
import { ROOT, repoPath } from "./repo.js";

/** The outcome of the documentation check. */
export interface DocsResult {
  readonly failures: Failure[];
  /** Exported declarations looked at (each counted once, however many entry points export it). */
  readonly checked: number;
}

const KINDS: Partial<Record<ts.SyntaxKind, string>> = {
  [ts.SyntaxKind.FunctionDeclaration]: "function",
  [ts.SyntaxKind.ClassDeclaration]: "class",
  [ts.SyntaxKind.InterfaceDeclaration]: "interface",
  [ts.SyntaxKind.TypeAliasDeclaration]: "type",
  [ts.SyntaxKind.EnumDeclaration]: "enum",
  [ts.SyntaxKind.VariableDeclaration]: "const",
  [ts.SyntaxKind.ModuleDeclaration]: "namespace",
};

/** Whether a declaration has a TSDoc comment with a description (for a variable, on its statement). */
function isDocumented(declaration: ts.Declaration): boolean {
  return ts
    .getJSDocCommentsAndTags(declaration)
    .some((doc) => ts.isJSDoc(doc) && (ts.getTextOfJSDocComment(doc.comment)?.trim() ?? "") !== "");
}

/**
 * Every declaration exported by the given entry points (a package's `src/index.ts`) that has no doc comment: what
 * a user's editor shows on hover is all they get. Re-exports are followed to the declaration; declarations from
 * outside the repository (a dependency's types) are left to their authors.
 */
export function checkDocs(indexFiles: readonly string[]): DocsResult {
  const program = ts.createProgram({ rootNames: [...indexFiles], options: baseCompilerOptions() });
  const checker = program.getTypeChecker();
  const seen = new Set<ts.Declaration>();
  const failures: Failure[] = [];
  for (const index of indexFiles) {
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(index)!);
    if (!moduleSymbol) continue;
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const declarations = (symbol.declarations ?? []).filter((d) => {
        const file = d.getSourceFile().fileName;
        return file.startsWith(ROOT + sep) && !file.includes(`${sep}node_modules${sep}`) && KINDS[d.kind];
      });
      if (declarations.length === 0 || declarations.some((d) => seen.has(d))) continue;
      declarations.forEach((d) => seen.add(d));
      if (declarations.some(isDocumented)) continue;
      const first = declarations[0]!;
      const file = first.getSourceFile();
      failures.push({
        file: repoPath(file.fileName),
        line: file.getLineAndCharacterOfPosition(first.getStart(file)).line + 1,
        message: `exported ${KINDS[first.kind]} ${symbol.name} (${repoPath(index)}) has no doc comment`,
      });
    }
  }
  return { failures, checked: seen.size };
}
