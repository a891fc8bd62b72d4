import { type Logger, pino } from "pino";

export type { Logger };

/** Structured JSON logs, one object a line, with secrets redacted wherever they might appear. */
export function createLogger(level: string, version: string, service = "api"): Logger {
  return pino({
    level,
    base: { service, version },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ["password", "*.password", "*.*.password", "req.headers.authorization", "req.headers.cookie"],
      censor: "[redacted]",
    },
  });
}
