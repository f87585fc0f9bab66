/**
 * An error caused by the user's input or environment. The CLI prints its message as one line
 * (no stack trace) and exits non-zero. The message says what is wrong; `hint` says what to do.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "UserError";
  }

  /** The single line shown to the user. */
  line(): string {
    return this.hint ? `${this.message} — ${this.hint}` : this.message;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/** Message of any thrown value, never its stack. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
