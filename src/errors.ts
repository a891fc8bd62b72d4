/**
 * An error the user can fix: the message says what is wrong (with the offending value) and what to do. The action
 * shell prints only the message of these; anything else is a bug and keeps its stack.
 */
export class ToolkitError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An input that cannot be used as given. Raised before any call that changes anything. */
export class InputError extends ToolkitError {}
