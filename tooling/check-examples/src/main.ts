/**
 * Checks what a user of the packages reads, and exits non-zero on any failure, each printed as `file:line: message`:
 *
 * - `examples`: every ```ts / ```typescript / ```js block of the READMEs (the repository's, each package's and app's)
 *   and every `@example` block of the TSDoc comments in `packages/*\/src` and `apps/*\/src` (tests left out) is
 *   written as a module of its own and type-checked against the packages' sources, resolved as a user resolves
 *   them. A fragment gets the imports of the names its package (and the `@proj/*` packages it depends on) exports;
 *   anything else must be declared by the block or listed, with its type and the reason, in `src/allowlist.ts`.
 *   A deprecated API in an example is a failure too.
 * - `configs`: every ```json block must be strict JSON; a configuration (a block with `broker` or `security`) must
 *   be ```json and pass `loadConfig` without an error finding, with the files it names made from a test PKI.
 * - `docs`: every declaration exported by `packages/*\/src/index.ts` and `apps/cli/src/index.ts` has a doc comment.
 *
 * A block that shows a mistake on purpose is marked on the line before it with `<!-- example: invalid -->`: it
 * must then fail its check, so the marker never outlives the mistake.
 *
 * Usage: `pnpm check:examples [examples] [configs] [docs]` (all three when none is named).
 */
import { checkConfigs } from "./configs.js";
import { checkDocs } from "./docs.js";
import { readmeBlocks, tsdocBlocks } from "./extract.js";
import { formatFailure, sortFailures, type Failure } from "./report.js";
import { publicIndexFiles, readmeFiles, sourceFiles, workspacePackages } from "./repo.js";
import { checkSnippets } from "./snippets.js";

const MODES = ["examples", "configs", "docs"] as const;
type Mode = (typeof MODES)[number];

const asked = process.argv.slice(2);
const unknown = asked.filter((arg) => !(MODES as readonly string[]).includes(arg));
if (unknown.length > 0) {
  console.error(`unknown check ${unknown.join(", ")}: use ${MODES.join(", ")}`);
  process.exit(2);
}
const modes = new Set<Mode>(asked.length > 0 ? (asked as Mode[]) : MODES);

const failures: Failure[] = [];
const summary: string[] = [];
const readme = readmeFiles().flatMap(readmeBlocks);

if (modes.has("examples")) {
  const tsdoc = sourceFiles().flatMap(tsdocBlocks);
  const code = [...readme, ...tsdoc].filter((b) => b.kind === "code");
  const result = checkSnippets(code, workspacePackages());
  failures.push(...result.failures);
  const fromReadme = code.filter((b) => !b.subject).length;
  summary.push(
    `examples: ${fromReadme} README code blocks and ${code.length - fromReadme} TSDoc examples type-checked ` +
      `(${result.addedImports} imports and ${result.declaredFreeVariables} listed free names added)`,
  );
}

if (modes.has("configs")) {
  const result = await checkConfigs(readme);
  failures.push(...result.failures);
  for (const note of sortFailures(result.notes)) console.log(`${formatFailure(note)} (not a failure)`);
  summary.push(`configs: ${result.checked} JSON blocks read, ${result.configurations} configurations loaded`);
}

if (modes.has("docs")) {
  const result = checkDocs(publicIndexFiles());
  failures.push(...result.failures);
  summary.push(`docs: ${result.checked} exported declarations`);
}

for (const failure of sortFailures(failures)) console.log(formatFailure(failure));
for (const line of summary) console.log(line);
console.log(failures.length === 0 ? "no failures" : `${failures.length} failure(s)`);
process.exitCode = failures.length > 0 ? 1 : 0;
