import { readFileSync } from 'node:fs';
import type { Bootstrap } from './Bootstrap.js';
import { BootstrapError } from './BootstrapError.js';
import { isParsedBootstrap, parseBootstrap } from './parseBootstrap.js';

export const BOOTSTRAP_FILE_ENV = 'GRPC_XDS_BOOTSTRAP';
export const BOOTSTRAP_CONFIG_ENV = 'GRPC_XDS_BOOTSTRAP_CONFIG';

/** Parses bootstrap JSON text; `source` names it in errors. */
export function parseBootstrapJson(text: string, source: string): Bootstrap {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new BootstrapError(source, '', `not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseBootstrap(doc, source);
}

/** Reads and parses a bootstrap file. */
export function readBootstrapFile(path: string, via?: string): Bootstrap {
  const source = `file ${path}${via ? ` (${via})` : ''}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new BootstrapError(source, '', `cannot read the file (${(error as Error).message}); check the path and permissions`, { cause: error });
  }
  return parseBootstrapJson(text, source);
}

/**
 * The bootstrap from the environment, as gRPC finds it: the file named by
 * GRPC_XDS_BOOTSTRAP wins over inline JSON in GRPC_XDS_BOOTSTRAP_CONFIG.
 */
export function loadBootstrapFromEnv(env: NodeJS.ProcessEnv = process.env): Bootstrap {
  const file = env[BOOTSTRAP_FILE_ENV];
  if (file) return readBootstrapFile(file, BOOTSTRAP_FILE_ENV);
  const inline = env[BOOTSTRAP_CONFIG_ENV];
  if (inline) return parseBootstrapJson(inline, BOOTSTRAP_CONFIG_ENV);
  throw new BootstrapError('the environment', '', `neither ${BOOTSTRAP_FILE_ENV} (a file path) nor ${BOOTSTRAP_CONFIG_ENV} (inline JSON) is set`);
}

/**
 * Any accepted bootstrap input: an already-parsed Bootstrap, a plain object in
 * the bootstrap JSON shape, JSON text (starts with `{`), or a file path.
 * Without input, the environment is read.
 */
export function resolveBootstrap(input?: Bootstrap | object | string, env: NodeJS.ProcessEnv = process.env): Bootstrap {
  if (input === undefined) return loadBootstrapFromEnv(env);
  if (isParsedBootstrap(input)) return input;
  if (typeof input === 'string') {
    return input.trimStart().startsWith('{') ? parseBootstrapJson(input, 'bootstrap JSON string') : readBootstrapFile(input);
  }
  return parseBootstrap(input, 'bootstrap object');
}
