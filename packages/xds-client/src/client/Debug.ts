import type { Logger } from './Logger.js';

/**
 * The debug switch, like gRPC's GRPC_TRACE: `MESHLET_DEBUG=xds,routing` (or `all`) turns on
 * explanations of what the mesh does, on stderr. Read once when this module loads, so a hot
 * path pays one Set lookup (or nothing: callers keep the `undefined` logger and skip the work).
 */
export const DEBUG_ENV = 'MESHLET_DEBUG';

/** `xds`: ADS requests, responses, ACKs and NACKs. `routing`: each HTTP or gRPC call's route, cluster, endpoints and retries. */
export const DEBUG_TOPICS = ['xds', 'routing'] as const;
export type DebugTopic = (typeof DEBUG_TOPICS)[number];

/**
 * Parses a MESHLET_DEBUG value: comma-separated topics, case-insensitive, `all` (or `*`) for every
 * topic, `-topic` to subtract one (`all,-xds`), as GRPC_TRACE does. Unknown names are ignored so
 * a value written for a newer Meshlet does not break an older one.
 */
export function parseDebugTopics(value: string | undefined): ReadonlySet<DebugTopic> {
  const on = new Set<DebugTopic>();
  for (const raw of (value ?? '').split(',')) {
    const item = raw.trim().toLowerCase();
    if (item === '') continue;
    const off = item.startsWith('-');
    const name = off ? item.slice(1) : item;
    const topics: readonly DebugTopic[] = name === 'all' || name === '*' ? DEBUG_TOPICS : (DEBUG_TOPICS as readonly string[]).includes(name) ? [name as DebugTopic] : [];
    for (const t of topics) {
      if (off) on.delete(t);
      else on.add(t);
    }
  }
  return on;
}

const enabled = parseDebugTopics(process.env[DEBUG_ENV]);

export function isDebugEnabled(topic: DebugTopic): boolean {
  return enabled.has(topic);
}

/** Where debug lines go by default: stderr, so they never mix with a CLI's or an app's stdout. */
function writeStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * A Logger printing every level as one line `[meshlet:TOPIC] message {"field":...}`.
 * Always on: `debugLogger` decides whether one is handed out.
 */
export function topicLogger(topic: DebugTopic, write: (line: string) => void = writeStderr): Logger {
  const line = (level: string, message: string, fields?: Record<string, unknown>) =>
    write(`[meshlet:${topic}]${level === 'debug' ? '' : ` ${level}:`} ${message}${fields && Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : ''}`);
  return {
    debug: (m, f) => line('debug', m, f),
    info: (m, f) => line('info', m, f),
    warn: (m, f) => line('warn', m, f),
    error: (m, f) => line('error', m, f),
  };
}

/** The topic's stderr logger when MESHLET_DEBUG turns it on; undefined (do nothing) otherwise. */
export function debugLogger(topic: DebugTopic, write?: (line: string) => void): Logger | undefined {
  return enabled.has(topic) ? topicLogger(topic, write) : undefined;
}

/**
 * `base` as is when the topic is off; when it is on, every line also goes to the topic's stderr
 * logger. `consoleBase` (a logger that already prints to the console) is replaced rather than
 * teed, so a line never prints twice.
 */
export function withDebugOutput(topic: DebugTopic, base: Logger, consoleBase?: Logger): Logger {
  const debug = debugLogger(topic);
  if (!debug) return base;
  if (base === consoleBase) return debug;
  return {
    debug: (m, f) => (debug.debug(m, f), base.debug(m, f)),
    info: (m, f) => (debug.info(m, f), base.info(m, f)),
    warn: (m, f) => (debug.warn(m, f), base.warn(m, f)),
    error: (m, f) => (debug.error(m, f), base.error(m, f)),
  };
}

/** JSON that survives Errors (message, not `{}`), bigints and cycles: a debug line must never throw. */
function safeJson(fields: Record<string, unknown>): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(fields, (_key, value: unknown) => {
      if (value instanceof Error) return value.message;
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'object' && value !== null) {
        if (seen.has(value)) return '[cycle]';
        seen.add(value);
      }
      return value;
    });
  } catch {
    return '[unprintable fields]';
  }
}
