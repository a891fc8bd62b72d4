/**
 * How core modules tell the user what is happening, without knowing about GitHub Actions. The action shell
 * implements it with @actions/core; tests use the memory reporter.
 */
export interface Reporter {
  info(message: string): void;
  warning(message: string): void;
  /** Runs `work` inside a collapsible log group. */
  group<T>(title: string, work: () => Promise<T>): Promise<T>;
  /** Registers a value that must never appear in logs (a registry password, a token). */
  secret(value: string): void;
}

export interface MemoryReporter extends Reporter {
  readonly lines: string[];
  readonly warnings: string[];
  readonly secrets: string[];
}

export function memoryReporter(): MemoryReporter {
  const lines: string[] = [];
  const warnings: string[] = [];
  const secrets: string[] = [];
  return {
    lines,
    warnings,
    secrets,
    info: (message) => lines.push(message),
    warning: (message) => warnings.push(message),
    group: async (title, work) => {
      lines.push(`[group] ${title}`);
      try {
        return await work();
      } finally {
        lines.push(`[endgroup] ${title}`);
      }
    },
    secret: (value) => secrets.push(value),
  };
}
