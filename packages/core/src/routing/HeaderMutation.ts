import type { HeaderValueOption } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import type { MutableHeaders } from './RequestView.js';

/** The four header-mutation lists every level carries (RouteConfiguration, VirtualHost, Route, ClusterWeight). */
export interface HeaderMutationLevel {
  readonly request_headers_to_add: readonly HeaderValueOption[];
  readonly request_headers_to_remove: readonly string[];
  readonly response_headers_to_add: readonly HeaderValueOption[];
  readonly response_headers_to_remove: readonly string[];
}

type AppendAction = HeaderValueOption['append_action'];

const enum OpKind {
  Remove,
  Append,
  AddIfAbsent,
  Overwrite,
  OverwriteIfExists,
}

interface Op {
  readonly kind: OpKind;
  readonly name: string;
  readonly value: string;
}

const FORBIDDEN_VALUE_CHARS = /[\r\n\0]/;
// RFC 9110 token: what Envoy's HTTP_HEADER_NAME validation accepts (after lower-casing).
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

function opKind(action: AppendAction): OpKind {
  switch (action) {
    case 'APPEND_IF_EXISTS_OR_ADD':
      return OpKind.Append;
    case 'ADD_IF_ABSENT':
      return OpKind.AddIfAbsent;
    case 'OVERWRITE_IF_EXISTS_OR_ADD':
      return OpKind.Overwrite;
    case 'OVERWRITE_IF_EXISTS':
      return OpKind.OverwriteIfExists;
  }
}

/**
 * Envoy refuses to let route config add or remove pseudo-headers (`:authority`, `:path`, ...) and
 * `host` (Router::HeaderParser: "not a modifiable header"): those change routing and belong to
 * host_rewrite / prefix_rewrite.
 */
function checkName(raw: string, fieldPath: string): string {
  const name = raw.toLowerCase();
  if (name === '' || !HEADER_NAME.test(name)) {
    if (name.startsWith(':')) throw new ValidationError(fieldPath, `pseudo-header ${JSON.stringify(raw)} may not be modified`);
    throw new ValidationError(fieldPath, `invalid header name ${JSON.stringify(raw)}`);
  }
  if (name === 'host') throw new ValidationError(fieldPath, 'header "host" may not be modified');
  return name;
}

function compileList(adds: readonly HeaderValueOption[], removes: readonly string[], fieldPath: string, side: 'request' | 'response', out: Op[]): void {
  // Within one level Envoy removes first, then adds (HeaderParser::evaluateHeaders).
  removes.forEach((raw, i) => {
    out.push({ kind: OpKind.Remove, name: checkName(raw, `${fieldPath}${side}_headers_to_remove[${i}]`), value: '' });
  });
  adds.forEach((opt, i) => {
    const path = `${fieldPath}${side}_headers_to_add[${i}].header`;
    const name = checkName(opt.header.key, `${path}.key`);
    const value = opt.header.value;
    if (FORBIDDEN_VALUE_CHARS.test(value)) throw new ValidationError(`${path}.value`, 'header value must not contain CR, LF or NUL');
    // keep_empty_value (default false): an empty value adds nothing.
    if (value === '' && opt.keep_empty_value !== true) return;
    out.push({ kind: opKind(opt.append_action), name, value });
  });
}

function apply(ops: readonly Op[], headers: MutableHeaders): void {
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    switch (op.kind) {
      case OpKind.Remove:
        headers.delete(op.name);
        break;
      case OpKind.Append:
        headers.append(op.name, op.value);
        break;
      case OpKind.AddIfAbsent:
        if (!headers.has(op.name)) headers.append(op.name, op.value);
        break;
      case OpKind.Overwrite:
        headers.set(op.name, op.value);
        break;
      case OpKind.OverwriteIfExists:
        if (headers.has(op.name)) headers.set(op.name, op.value);
        break;
    }
  }
}

/**
 * The request and response header mutations of a matched route, merged from every level and compiled
 * into one flat list per direction.
 *
 * Level order: Envoy applies weighted cluster, then route, then virtual host, then route configuration
 * (most specific first) unless RouteConfiguration.most_specific_header_mutations_wins is true, in
 * which case the order is reversed. Whatever is applied last wins an overwrite, so by default the
 * outermost level wins. Header values are literal: Envoy's `%...%` substitution formatters are not
 * interpreted.
 */
export class HeaderMutation {
  static readonly EMPTY = new HeaderMutation([], []);

  private constructor(
    private readonly requestOps: readonly Op[],
    private readonly responseOps: readonly Op[],
  ) {}

  /**
   * @param levels most specific first (cluster weight, route, virtual host, route configuration), each
   *   with the field path prefix used in errors (e.g. `virtual_hosts[0].routes[2].`).
   */
  static compile(levels: readonly { readonly level: HeaderMutationLevel; readonly fieldPath: string }[], mostSpecificWins = false): HeaderMutation {
    const ordered = mostSpecificWins ? [...levels].reverse() : levels;
    const request: Op[] = [];
    const response: Op[] = [];
    for (const { level, fieldPath } of ordered) {
      compileList(level.request_headers_to_add, level.request_headers_to_remove, fieldPath, 'request', request);
      compileList(level.response_headers_to_add, level.response_headers_to_remove, fieldPath, 'response', response);
    }
    if (request.length === 0 && response.length === 0) return HeaderMutation.EMPTY;
    return new HeaderMutation(request, response);
  }

  get isEmpty(): boolean {
    return this.requestOps.length === 0 && this.responseOps.length === 0;
  }

  applyToRequest(headers: MutableHeaders): void {
    apply(this.requestOps, headers);
  }

  applyToResponse(headers: MutableHeaders): void {
    apply(this.responseOps, headers);
  }
}
