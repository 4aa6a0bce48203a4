import { readFileSync } from "node:fs";
import ts from "typescript";
import { repoPath } from "./repo.js";

/**
 * The marker that says the next fenced block shows a mistake on purpose. It goes on the last non-blank line before
 * the block: `<!-- example: invalid -->`. Such a block must fail its check (a type error for code, an error finding
 * or a syntax error for a configuration); one that passes is reported, so the marker never outlives the mistake.
 */
const INVALID_MARKER = /^<!--\s*example:\s*invalid\s*-->$/;

/** The languages of blocks that are type-checked, and of blocks read as JSON. */
const CODE_LANGUAGES = new Set(["ts", "typescript", "js", "javascript", "mjs"]);
const JSON_LANGUAGES = new Set(["json", "jsonc"]);

/** A fenced block of code a user reads. */
export interface Block {
  /** Repository-relative file the block is in. */
  readonly file: string;
  /** 1-based line of the block's first line of code (the line after the opening fence). */
  readonly line: number;
  /** The fence's language, lower-cased. */
  readonly language: string;
  readonly kind: "code" | "json";
  readonly text: string;
  /** Marked with {@link INVALID_MARKER}. */
  readonly invalid: boolean;
  /** For a TSDoc example: the top-level declaration it documents, and the member when it documents one. */
  readonly subject?: { readonly statement: string | undefined; readonly member: string | undefined };
}

function classify(language: string): Block["kind"] | undefined {
  if (CODE_LANGUAGES.has(language)) return "code";
  if (JSON_LANGUAGES.has(language)) return "json";
  return undefined;
}

/** The fenced blocks of Markdown text whose language is checked, with the line each starts on. */
export function markdownBlocks(file: string, text: string): Block[] {
  const lines = text.split(/\r?\n/);
  const blocks: Block[] = [];
  let lastNonBlank = "";
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]!);
    if (!open) {
      if (lines[i]!.trim() !== "") lastNonBlank = lines[i]!.trim();
      continue;
    }
    const [, indent = "", fence = "```", lang = ""] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = lines[j]!.trimStart();
      if (close.startsWith(fence) && close.slice(fence.length).trim() === "") break;
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!);
    }
    const language = lang.toLowerCase();
    const kind = classify(language);
    if (kind)
      blocks.push({
        file: repoPath(file),
        line: i + 2,
        language,
        kind,
        text: body.join("\n"),
        invalid: INVALID_MARKER.test(lastNonBlank),
      });
    lastNonBlank = lines[j] === undefined ? "" : lines[j]!.trim();
    i = j;
  }
  return blocks;
}

/** Every README's checked blocks. */
export function readmeBlocks(file: string): Block[] {
  return markdownBlocks(file, readFileSync(file, "utf8"));
}

function declarationName(node: ts.Node): string | undefined {
  if (ts.isVariableStatement(node)) {
    const first = node.declarationList.declarations[0];
    return first && ts.isIdentifier(first.name) ? first.name.text : undefined;
  }
  const name = (node as { name?: ts.Node }).name;
  return name && (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name))
    ? name.text
    : undefined;
}

/**
 * The fenced blocks after `@example` in the TSDoc comments of a source file, each with the declaration it
 * documents. Comments are found by the TypeScript parser, so text that only looks like a comment inside a string
 * is never read.
 */
export function tsdocBlocks(file: string): Block[] {
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const seen = new Set<number>();
  const blocks: Block[] = [];
  const visit = (node: ts.Node): void => {
    for (const range of ts.getLeadingCommentRanges(text, node.pos) ?? []) {
      if (seen.has(range.pos) || !text.startsWith("/**", range.pos)) continue;
      seen.add(range.pos);
      let statement: ts.Node = node;
      while (statement.parent && !ts.isSourceFile(statement.parent)) statement = statement.parent;
      const member = statement === node ? undefined : declarationName(node);
      blocks.push(...exampleBlocks(file, text, range, { statement: declarationName(statement), member }));
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(source, visit);
  return blocks;
}

function exampleBlocks(
  file: string,
  text: string,
  range: ts.CommentRange,
  subject: NonNullable<Block["subject"]>,
): Block[] {
  const firstLine = text.slice(0, range.pos).split("\n").length;
  // The comment's lines without the leading `/**`, ` * ` and the closing `*/`.
  const lines = text
    .slice(range.pos, range.end)
    .split("\n")
    .map((line) =>
      line
        .replace(/^\s*\/\*\*\s?/, "")
        .replace(/\s*\*\/\s*$/, "")
        .replace(/^\s*\* ?/, ""),
    );
  const blocks: Block[] = [];
  let inExample = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^@\w+/.test(line.trim())) inExample = line.trim().startsWith("@example");
    const open = /^(`{3,})\s*([\w+-]*)\s*$/.exec(line.trim());
    if (!open) continue;
    const [, fence = "```", lang = ""] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j]!.trim() !== fence; j++) body.push(lines[j]!);
    const language = lang.toLowerCase();
    const kind = classify(language);
    if (inExample && kind)
      blocks.push({
        file: repoPath(file),
        line: firstLine + i + 1,
        language,
        kind,
        text: body.join("\n"),
        invalid: false,
        subject,
      });
    i = j;
  }
  return blocks;
}
