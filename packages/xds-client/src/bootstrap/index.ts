export * from './Bootstrap.js';
export { BootstrapError } from './BootstrapError.js';
export { parseBootstrap, isParsedBootstrap } from './parseBootstrap.js';
export {
  BOOTSTRAP_CONFIG_ENV,
  BOOTSTRAP_FILE_ENV,
  loadBootstrapFromEnv,
  parseBootstrapJson,
  readBootstrapFile,
  resolveBootstrap,
} from './loadBootstrap.js';
export { parseDurationString } from './DurationString.js';
