import type { SpecNode } from './SpecNode.js';
import type { ProtoObject } from './ProtoObjects.js';

/** A StringMatch (exact / prefix / regex) as read from Istio YAML. */
type StringMatch = { readonly exact: string } | { readonly prefix: string } | { readonly regex: string };

/**
 * One Istio HTTPMatchRequest as an Envoy RouteMatch (istiod's translateRouteMatch):
 * uri -> path / prefix / safe_regex, ignoreUriCase -> case_sensitive false, and
 * method / authority / scheme / headers / withoutHeaders -> header matchers
 * (the pseudo-headers `:method`, `:authority`, `:scheme`), queryParams ->
 * query_parameters. Returns undefined when the match is invalid.
 */
export function translateRouteMatch(node: SpecNode | undefined): ProtoObject | undefined {
  if (!node) return { prefix: '/' };
  if (!node.checkFields(['name', 'uri', 'method', 'authority', 'scheme', 'headers', 'withoutHeaders', 'queryParams', 'ignoreUriCase', 'port'], {
    unsupported: {
      sourceLabels: 'Meshlet clients carry no workload labels to match on; split the rule per client instead',
      sourceNamespace: 'Meshlet clients carry no namespace to match on',
    },
    ignored: { gateways: 'only mesh traffic exists in Meshlet', statPrefix: 'per-route stats are not emitted' },
  })) return undefined;
  const match: ProtoObject = {};
  const uriNode = node.field('uri');
  const uri = readStringMatch(uriNode);
  if (!uri) match['prefix'] = '/';
  else if ('exact' in uri) match['path'] = uri.exact;
  else if ('prefix' in uri) match['prefix'] = uri.prefix;
  else match['safe_regex'] = { regex: uri.regex };
  if (uri && 'exact' in uri && !uri.exact.startsWith('/')) uriNode.field('exact').error('a path must start with "/"');
  if (uri && 'prefix' in uri && !uri.prefix.startsWith('/')) uriNode.field('prefix').error('a path prefix must start with "/"');
  if (node.field('ignoreUriCase').boolean()) match['case_sensitive'] = { value: false };

  const headers: ProtoObject[] = [];
  for (const [pseudo, field] of [[':method', 'method'], [':authority', 'authority'], [':scheme', 'scheme']] as const) {
    const m = readStringMatch(node.field(field));
    if (m) headers.push(headerMatcher(pseudo, m, false));
  }
  for (const [field, invert] of [['headers', false], ['withoutHeaders', true]] as const) {
    for (const [name, value] of node.field(field).entries()) {
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
        value.error(`"${name}" is not a valid header name`, 'key');
        continue;
      }
      const m = readStringMatch(value);
      headers.push(m ? headerMatcher(name.toLowerCase(), m, invert) : { name: name.toLowerCase(), present_match: true, invert_match: invert });
    }
  }
  if (headers.length > 0) match['headers'] = headers;

  const query: ProtoObject[] = [];
  for (const [name, value] of node.field('queryParams').entries()) {
    const m = readStringMatch(value);
    query.push(m ? { name, string_match: stringMatcher(m) } : { name, present_match: true });
  }
  if (query.length > 0) match['query_parameters'] = query;
  return match;
}

function headerMatcher(name: string, m: StringMatch, invert: boolean): ProtoObject {
  const out: ProtoObject = { name, string_match: stringMatcher(m) };
  if (invert) out['invert_match'] = true;
  return out;
}

function stringMatcher(m: StringMatch): ProtoObject {
  if ('exact' in m) return { exact: m.exact };
  if ('prefix' in m) return { prefix: m.prefix };
  return { safe_regex: { regex: m.regex } };
}

/** Reads a StringMatch; an empty mapping (`{}`) means "present", returned as undefined. */
function readStringMatch(node: SpecNode): StringMatch | undefined {
  if (!node.present || !node.checkFields(['exact', 'prefix', 'regex'])) return undefined;
  const set = (['exact', 'prefix', 'regex'] as const).filter((k) => node.field(k).present);
  if (set.length > 1) {
    node.error(`set only one of exact, prefix, regex (found ${set.join(', ')})`);
    return undefined;
  }
  const kind = set[0];
  if (kind === undefined) return undefined;
  const value = node.field(kind).string();
  if (value === undefined) return undefined;
  if (kind === 'regex') {
    if (!isPlausibleRe2(value)) {
      node.field('regex').error(`"${value}" is not a valid regular expression (RE2 syntax)`);
      return undefined;
    }
    return { regex: value };
  }
  return kind === 'exact' ? { exact: value } : { prefix: value };
}

/**
 * Envoy compiles RE2, which Node does not ship; JavaScript's parser catches the
 * common mistakes (unbalanced groups, dangling quantifiers). RE2-only syntax such
 * as named groups `(?P<n>...)` is let through for the data plane to judge.
 */
function isPlausibleRe2(re: string): boolean {
  if (re.includes('(?P<')) return true;
  try {
    new RegExp(re, 'u');
    return true;
  } catch {
    try {
      new RegExp(re);
      return true;
    } catch {
      return false;
    }
  }
}
