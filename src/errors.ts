/**
 * An error meant for the user: its message is one complete line that names the file or input and the
 * problem. The CLI prints it without a stack trace and exits non-zero.
 */
export class MinivlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MinivlError';
  }
}

/** Throws a MinivlError; usable in expressions (`x ?? fail('...')`). */
export function fail(message: string): never {
  throw new MinivlError(message);
}

/** The errno code of a failed fs call (ENOENT, EACCES, ...), else the error's message: for `(...)` in one-line errors. */
export function errnoCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}
