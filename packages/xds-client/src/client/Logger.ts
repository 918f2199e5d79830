/**
 * Where the XdsClient reports what an operator may want to know: NACKs, stream
 * failures, deletions ignored under gRFC A53. Plug in pino, console or an
 * OpenTelemetry logger; `fields` are structured context.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Drops everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** The default: warnings and errors to the console, nothing else (a library should be quiet). */
export const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn(message, fields) {
    console.warn(`[meshlet/xds] ${message}`, ...(fields ? [fields] : []));
  },
  error(message, fields) {
    console.error(`[meshlet/xds] ${message}`, ...(fields ? [fields] : []));
  },
};
