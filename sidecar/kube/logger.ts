// The slice of a structured logger the Kubernetes adapters use. pino's Logger satisfies it, so
// the sidecar passes its own; tests and callers that do not care get the silent one.

export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const ignore = (): void => {};

/** A logger that drops everything: the default wherever a `logger` option is left out. */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
