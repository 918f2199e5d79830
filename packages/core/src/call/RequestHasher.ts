import type { HashPolicy } from '@meshlet/xds-client';
import { compileGlobalSearch } from '../routing/Re2Pattern.js';
import { MAX_REGEX_REWRITE_PATH_LENGTH } from '../routing/PathRewriter.js';
import { compileRe2Substitution, re2GlobalReplace } from '../routing/Re2GlobalReplace.js';
import type { RequestView } from '../routing/RequestView.js';
import { xxHash64 } from '../cluster/Hashing.js';
import { localSourceAddress } from './LocalSourceAddress.js';

const MASK64 = (1n << 64n) - 1n;

/** What a hash policy may read beyond the RequestView. */
export interface HashInput {
  readonly request: RequestView;
  /** The downstream (caller) IP for connection_properties.source_ip; absent, this host's own address (localSourceAddress). */
  readonly sourceIp?: string;
}

interface HashMethod {
  readonly terminal: boolean;
  evaluate(input: HashInput): bigint | undefined;
}

/**
 * A route's hash_policy compiled once per push, producing the 64-bit request hash
 * RING_HASH / MAGLEV pick with (Envoy Router::HashPolicyImpl). Needs `await initHashing()`
 * (cluster/Hashing) before the first call.
 *
 * Not supported (no hash is produced, so the LB picks at random): cookie policies that
 * would *generate* a cookie (ttl set, cookie absent) and filter_state.
 */
export class RequestHasher {
  private constructor(private readonly methods: readonly HashMethod[]) {}

  /** undefined when the route has no hash policy. */
  static compile(policies: readonly HashPolicy[]): RequestHasher | undefined {
    const methods: HashMethod[] = [];
    policies.forEach((p, i) => {
      const m = compileMethod(p, `hash_policy[${i}]`);
      if (m !== undefined) methods.push(m);
    });
    return methods.length === 0 ? undefined : new RequestHasher(methods);
  }

  /**
   * Envoy combines policies by rotating the running hash left by one bit and XORing the
   * next (so duplicate policies do not cancel out); a terminal policy that produced a
   * hash (counting earlier ones) stops evaluation.
   */
  hash(input: HashInput): bigint | undefined {
    let hash: bigint | undefined;
    for (const m of this.methods) {
      const h = m.evaluate(input);
      if (h !== undefined) {
        const old = hash === undefined ? 0n : ((hash << 1n) | (hash >> 63n)) & MASK64;
        hash = old ^ h;
      }
      if (m.terminal && hash !== undefined) break;
    }
    return hash;
  }
}

function compileMethod(p: HashPolicy, fieldPath: string): HashMethod | undefined {
  const terminal = p.terminal;
  if (p.header) {
    const name = p.header.header_name.toLowerCase();
    const rw = p.header.regex_rewrite;
    const rewrite = rw ? regexRewriter(rw.pattern.regex, rw.substitution, `${fieldPath}.header.regex_rewrite`) : undefined;
    return {
      terminal,
      evaluate({ request }) {
        const v = name === ':authority' ? request.authority : name === ':path' ? request.path : name === ':method' ? request.method : request.headers.get(name);
        if (v == null) return undefined;
        const value = rewrite ? rewrite(v) : v;
        return value === undefined ? undefined : xxHash64(value);
      },
    };
  }
  if (p.cookie) {
    const cookieName = p.cookie.name;
    return {
      terminal,
      evaluate({ request }) {
        const v = cookieValue(request.headers.get('cookie'), cookieName);
        return v === undefined ? undefined : xxHash64(v);
      },
    };
  }
  if (p.connection_properties?.source_ip) {
    // This host's address is the same for every request: hashed once, not per request.
    let local: bigint | undefined;
    return { terminal, evaluate: ({ sourceIp }) => (sourceIp ? xxHash64(sourceIp) : (local ??= xxHash64(localSourceAddress()))) };
  }
  if (p.query_parameter) {
    const qname = p.query_parameter.name;
    return {
      terminal,
      evaluate({ request }) {
        const v = queryValue(request.path, qname);
        return v === undefined ? undefined : xxHash64(v);
      },
    };
  }
  return undefined;
}

/**
 * RE2::GlobalReplace of the header value, bounded as the route's path regex_rewrite is (Re2GlobalReplace):
 * re2-wasm's own replace never returns for a pattern that matches empty (`x*`), and a long value with many
 * matches costs RE2 seconds. A value over MAX_REGEX_REWRITE_PATH_LENGTH, or one needing more searches than
 * the bound, gives no hash from this policy (undefined: the next policy, else a random pick, decides), as a
 * missing header does; the request is not failed for it.
 */
function regexRewriter(pattern: string, substitution: string, fieldPath: string): (v: string) => string | undefined {
  const re = compileGlobalSearch(pattern, `${fieldPath}.pattern.regex`);
  const sub = compileRe2Substitution(substitution, `${fieldPath}.substitution`);
  return (v) => {
    if (v.length > MAX_REGEX_REWRITE_PATH_LENGTH) return undefined;
    try {
      return re2GlobalReplace(re, v, sub, fieldPath);
    } catch (err) {
      if (err instanceof RangeError) return undefined;
      throw err;
    }
  };
}

/** Envoy Http::Utility::parseCookieValue: first `name=value` in the Cookie header(s); quotes stripped. */
function cookieValue(header: string | null | undefined, name: string): string | undefined {
  if (header == null) return undefined;
  for (const part of header.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    return v;
  }
  return undefined;
}

/** The first value of a query parameter, as sent (Envoy does not percent-decode it for hashing). */
function queryValue(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const hash = path.indexOf('#', q);
  const query = path.slice(q + 1, hash < 0 ? undefined : hash);
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}
