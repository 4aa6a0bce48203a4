/** One problem a reader would meet: where it is (a repository-relative file and a 1-based line) and what it is. */
export interface Failure {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** `file:line: message`, the form editors and CI logs link to. */
export function formatFailure(failure: Failure): string {
  return `${failure.file}:${failure.line}: ${failure.message}`;
}

/** Failures in file order, then line order. */
export function sortFailures(failures: readonly Failure[]): Failure[] {
  return [...failures].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}
