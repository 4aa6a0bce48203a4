import { join } from "node:path";
import ts from "typescript";
import { ROOT } from "./repo.js";

/** The repository's compiler options (tsconfig.base.json): NodeNext, strict, the `@proj/source` condition. */
export function baseCompilerOptions(): ts.CompilerOptions {
  const file = join(ROOT, "tsconfig.base.json");
  const read = ts.readConfigFile(file, (path) => ts.sys.readFile(path));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
  const { compilerOptions = {} } = read.config as { compilerOptions?: object };
  const converted = ts.convertCompilerOptionsFromJson(compilerOptions, ROOT, file);
  if (converted.errors.length > 0)
    throw new Error(
      converted.errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, "\n")).join("\n"),
    );
  return { ...converted.options, noEmit: true };
}
