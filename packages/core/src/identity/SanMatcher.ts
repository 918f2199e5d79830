import type { CertificateValidationContext, StringMatcher } from '@meshlet/xds-client';
import { compileStringMatcher, type CompiledStringMatcher } from '../routing/StringMatcher.js';
import { MeshletTlsError } from './MeshletTlsError.js';
import { describeSubjectAltNames, type SanType, type SubjectAltName } from './SubjectAltName.js';

interface CompiledSanMatcher {
  /** undefined: any SAN type (the deprecated match_subject_alt_names). */
  readonly sanType: SanType | 'OTHER_NAME' | undefined;
  readonly matcher: StringMatcher;
  readonly compiled: CompiledStringMatcher;
}

/**
 * Subject-alt-name verification per CertificateValidationContext: `match_typed_subject_alt_names`
 * when present (each matcher applies to one SAN type), else the deprecated `match_subject_alt_names`
 * (each matcher applies to DNS, URI, email and IP SANs alike, as Envoy converts it). The peer passes
 * when any SAN matches any matcher. A DNS SAN with a leading `*.` label matches an `exact` matcher
 * by wildcard rules, as in Envoy's dnsNameMatch.
 */
export class SanMatcher {
  private constructor(private readonly matchers: readonly CompiledSanMatcher[]) {}

  /** undefined when the context configures no SAN matchers (then only the chain is checked, as in Envoy). */
  static fromValidationContext(vc: CertificateValidationContext | undefined, fieldPath = 'validation_context'): SanMatcher | undefined {
    if (vc === undefined) return undefined;
    const typed = vc.match_typed_subject_alt_names ?? [];
    if (typed.length > 0) {
      return new SanMatcher(
        typed.map((t, i) => {
          const path = `${fieldPath}.match_typed_subject_alt_names[${i}]`;
          if (t.san_type === 'SAN_TYPE_UNSPECIFIED') throw new MeshletTlsError('config', `${path}.san_type must be set`);
          return { sanType: t.san_type, matcher: t.matcher, compiled: compileStringMatcher(t.matcher, `${path}.matcher`) };
        }),
      );
    }
    const legacy = vc.match_subject_alt_names ?? [];
    if (legacy.length === 0) return undefined;
    return new SanMatcher(legacy.map((m, i) => ({ sanType: undefined, matcher: m, compiled: compileStringMatcher(m, `${fieldPath}.match_subject_alt_names[${i}]`) })));
  }

  matches(sans: readonly SubjectAltName[]): boolean {
    return sans.some((san) => this.matchers.some((m) => matchOne(m, san)));
  }

  /** undefined when the SANs pass, else the error to fail the connection with. */
  verify(sans: readonly SubjectAltName[], peer: 'server' | 'client'): MeshletTlsError | undefined {
    if (this.matches(sans)) return undefined;
    return new MeshletTlsError('san', `${peer} certificate SAN mismatch: got ${describeSubjectAltNames(sans)}, want one of [${this.describe()}]`);
  }

  describe(): string {
    return this.matchers.map(describeMatcher).join(', ');
  }
}

function matchOne(m: CompiledSanMatcher, san: SubjectAltName): boolean {
  if (m.sanType !== undefined && m.sanType !== san.type) return false;
  if (san.type === 'DNS' && m.matcher.exact !== undefined) return dnsNameMatch(m.matcher.exact, san.value);
  return m.compiled.matches(san.value);
}

/** `expected` is the matcher's name, `pattern` the certificate's DNS SAN (maybe `*.example.com`). */
function dnsNameMatch(expected: string, pattern: string): boolean {
  const name = expected.toLowerCase();
  const san = pattern.toLowerCase();
  if (name === san) return true;
  if (!san.startsWith('*.')) return false;
  // The wildcard stands for exactly one non-empty label.
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot) === san.slice(1);
}

function describeMatcher(m: CompiledSanMatcher): string {
  const s = m.matcher;
  const kind =
    s.exact !== undefined ? `exact ${s.exact}`
    : s.prefix !== undefined ? `prefix ${s.prefix}`
    : s.suffix !== undefined ? `suffix ${s.suffix}`
    : s.contains !== undefined ? `contains ${s.contains}`
    : `safe_regex ${s.safe_regex?.regex ?? ''}`;
  const type = m.sanType !== undefined ? `${m.sanType} ` : '';
  return `${type}${kind}${s.ignore_case === true ? ' (ignore_case)' : ''}`;
}
