import type { RedirectAction } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import type { PathMatcher } from './PathMatcher.js';
import type { PathRewriter } from './PathRewriter.js';
import { compilePathRewriter } from './PathRewriter.js';
import type { RequestView } from './RequestView.js';
import { splitHostPort } from './HostPort.js';

export interface Redirect {
  readonly status: 301 | 302 | 303 | 307 | 308;
  readonly location: string;
}

const STATUS: Record<RedirectAction['response_code'], Redirect['status']> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

const DEFAULT_PORT: Readonly<Record<string, string>> = { http: '80', https: '443' };

const FORBIDDEN = /[\0-\x20\x7f]/;

/**
 * A compiled RedirectAction. The Location is built like Envoy's: scheme (scheme_redirect, or https
 * when https_redirect, else the request's), host (host_redirect or the request's), port
 * (port_redirect; else the request's port, dropped when the scheme changes and the port was the old
 * scheme's default), path (path_redirect; or prefix_rewrite / regex_rewrite of the request path;
 * else unchanged) and query (kept unless strip_query; a path_redirect carrying '?' brings its own).
 */
export class CompiledRedirect {
  readonly status: Redirect['status'];
  private readonly rewriter: PathRewriter;

  constructor(
    private readonly config: RedirectAction,
    matcher: PathMatcher,
    fieldPath: string,
  ) {
    this.status = STATUS[config.response_code] ?? 301;
    if (config.https_redirect === true && config.scheme_redirect !== undefined) {
      throw new ValidationError(fieldPath, 'https_redirect and scheme_redirect are mutually exclusive');
    }
    const pathSpecifiers = [config.path_redirect, config.prefix_rewrite, config.regex_rewrite].filter((x) => x !== undefined).length;
    if (pathSpecifiers > 1) throw new ValidationError(fieldPath, 'only one of path_redirect, prefix_rewrite, regex_rewrite may be set');
    for (const key of ['host_redirect', 'path_redirect', 'scheme_redirect'] as const) {
      const v = config[key];
      if (v !== undefined && FORBIDDEN.test(v)) throw new ValidationError(`${fieldPath}.${key}`, 'must not contain control characters or space');
    }
    if (config.port_redirect !== undefined && (!Number.isInteger(config.port_redirect) || config.port_redirect < 0 || config.port_redirect > 65535)) {
      throw new ValidationError(`${fieldPath}.port_redirect`, `invalid port ${config.port_redirect}`);
    }
    this.rewriter = compilePathRewriter(config, matcher, fieldPath);
  }

  /** @param scheme the request's scheme; defaults to the `:scheme` header, else 'http'. */
  redirect(req: RequestView, scheme: string = req.headers.get(':scheme') ?? 'http'): Redirect {
    const c = this.config;
    const origScheme = scheme.toLowerCase();
    const newScheme = c.scheme_redirect !== undefined ? c.scheme_redirect.toLowerCase() : c.https_redirect === true ? 'https' : origScheme;
    const orig = splitHostPort(req.authority);
    let host: string;
    let port: string;
    if (c.host_redirect !== undefined && c.host_redirect !== '') {
      const hr = splitHostPort(c.host_redirect);
      host = hr.host;
      port = hr.port !== '' ? hr.port : orig.port;
    } else {
      host = orig.host;
      port = orig.port;
    }
    if (c.port_redirect !== undefined && c.port_redirect !== 0) port = String(c.port_redirect);
    else if (newScheme !== origScheme && port === DEFAULT_PORT[origScheme]) port = '';
    if (port !== '' && port === DEFAULT_PORT[newScheme]) port = '';

    let pathAndQuery: string;
    if (c.path_redirect !== undefined) {
      const q = req.path.search(/[?#]/);
      const query = q < 0 ? '' : req.path.slice(q);
      pathAndQuery = c.path_redirect.includes('?') ? c.path_redirect : c.path_redirect + query;
    } else {
      pathAndQuery = this.rewriter.rewrite(req.path);
    }
    if (c.strip_query === true) {
      const q = pathAndQuery.indexOf('?');
      if (q >= 0) pathAndQuery = pathAndQuery.slice(0, q);
    }
    return { status: this.status, location: `${newScheme}://${host}${port === '' ? '' : `:${port}`}${pathAndQuery}` };
  }
}
