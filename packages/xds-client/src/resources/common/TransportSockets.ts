import type {
  CertificateProviderInstance,
  CertificateValidationContext,
  CommonTlsContext,
  DownstreamTlsContext,
  SdsSecretRef,
  TransportSocket,
  UpstreamTlsContext,
} from '../model.js';
import { stringMatcher } from './Matchers.js';
import { anyValue, decodeKnown, opaque, typeName } from './TypedExtensions.js';
import { asObj, at, compact, fail, list, optBool, optBytes, optEnum, optObj, optStr, optWrappedBool, str, strList, type Obj } from './ObjectReader.js';

const UPSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const DOWNSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const RAW_BUFFER = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';

function dataSource(v: Obj | undefined, path: string): { filename?: string; inline_string?: string; inline_bytes?: Uint8Array } | undefined {
  if (!v) return undefined;
  const bytes = optBytes(v, 'inline_bytes', path);
  return compact({ filename: optStr(v, 'filename', path), inline_string: optStr(v, 'inline_string', path), inline_bytes: bytes ? Uint8Array.from(bytes) : undefined });
}

function providerInstance(o: Obj | undefined, path: string): CertificateProviderInstance | undefined {
  if (!o) return undefined;
  const instance_name = str(o, 'instance_name', path);
  // gRFC A29: the instance name must be one the bootstrap defines; it can only be checked against the bootstrap later, but must not be empty.
  if (instance_name === '') fail(at(path, 'instance_name'), 'instance_name is required');
  return compact({ instance_name, certificate_name: optStr(o, 'certificate_name', path) || undefined });
}

function sdsRef(v: unknown, path: string): SdsSecretRef {
  const o = asObj(v, path);
  const name = str(o, 'name', path);
  if (name === '') fail(at(path, 'name'), 'SDS secret name is required');
  const cfg = optObj(o, 'sds_config', path);
  return compact({ name, sds_config: cfg });
}

const SAN_TYPES = ['EMAIL', 'DNS', 'URI', 'IP_ADDRESS', 'OTHER_NAME', 'SAN_TYPE_UNSPECIFIED'] as const;

function validationContext(o: Obj, path: string): CertificateValidationContext {
  if (o['custom_validator_config'] !== undefined) fail(at(path, 'custom_validator_config'), 'custom certificate validators are not supported');
  return compact({
    trusted_ca: dataSource(optObj(o, 'trusted_ca', path), at(path, 'trusted_ca')),
    ca_certificate_provider_instance: providerInstance(optObj(o, 'ca_certificate_provider_instance', path), at(path, 'ca_certificate_provider_instance')),
    match_subject_alt_names: list(o, 'match_subject_alt_names', path).map((m, i) => stringMatcher(m, at(at(path, 'match_subject_alt_names'), i))),
    match_typed_subject_alt_names: list(o, 'match_typed_subject_alt_names', path).map((m, i) => {
      const p = at(at(path, 'match_typed_subject_alt_names'), i);
      const mo = asObj(m, p);
      const matcher = optObj(mo, 'matcher', p);
      if (!matcher) fail(at(p, 'matcher'), 'matcher is required');
      return { san_type: optEnum(mo, 'san_type', p, SAN_TYPES) ?? 'SAN_TYPE_UNSPECIFIED', matcher: stringMatcher(matcher, at(p, 'matcher')) };
    }),
    trust_chain_verification: optEnum(o, 'trust_chain_verification', path, ['VERIFY_TRUST_CHAIN', 'ACCEPT_UNTRUSTED'] as const),
  });
}

/** envoy.extensions.transport_sockets.tls.v3.CommonTlsContext (gRFC A29 fields plus Istio's SDS form). */
function commonTlsContext(o: Obj, path: string): CommonTlsContext {
  let validation_context: CertificateValidationContext | undefined;
  let validation_context_sds_secret_config: SdsSecretRef | undefined;
  const vc = optObj(o, 'validation_context', path);
  const vcSds = optObj(o, 'validation_context_sds_secret_config', path);
  const combined = optObj(o, 'combined_validation_context', path);
  // Deprecated (gRPC's original A29 form): validation_context_certificate_provider_instance.
  const legacyCa = optObj(o, 'validation_context_certificate_provider_instance', path);
  if (vc) validation_context = validationContext(vc, at(path, 'validation_context'));
  if (vcSds) validation_context_sds_secret_config = sdsRef(vcSds, at(path, 'validation_context_sds_secret_config'));
  if (combined) {
    // combined_validation_context = default_validation_context merged with an SDS secret or provider instance.
    const cp = at(path, 'combined_validation_context');
    const dvc = optObj(combined, 'default_validation_context', cp);
    validation_context = dvc ? validationContext(dvc, at(cp, 'default_validation_context')) : { match_subject_alt_names: [], match_typed_subject_alt_names: [] };
    const sds = optObj(combined, 'validation_context_sds_secret_config', cp);
    if (sds) validation_context_sds_secret_config = sdsRef(sds, at(cp, 'validation_context_sds_secret_config'));
    const legacy = optObj(combined, 'validation_context_certificate_provider_instance', cp);
    if (legacy && !validation_context.ca_certificate_provider_instance) {
      validation_context = { ...validation_context, ca_certificate_provider_instance: providerInstance(legacy, at(cp, 'validation_context_certificate_provider_instance')) };
    }
  }
  if (legacyCa) {
    validation_context = {
      ...(validation_context ?? { match_subject_alt_names: [], match_typed_subject_alt_names: [] }),
      ca_certificate_provider_instance: providerInstance(legacyCa, at(path, 'validation_context_certificate_provider_instance')),
    };
  }
  const provider =
    providerInstance(optObj(o, 'tls_certificate_provider_instance', path), at(path, 'tls_certificate_provider_instance')) ??
    providerInstance(optObj(o, 'tls_certificate_certificate_provider_instance', path), at(path, 'tls_certificate_certificate_provider_instance'));
  return compact({
    alpn_protocols: strList(o, 'alpn_protocols', path),
    tls_certificate_provider_instance: provider,
    tls_certificate_sds_secret_configs: list(o, 'tls_certificate_sds_secret_configs', path).map((s, i) => sdsRef(s, at(at(path, 'tls_certificate_sds_secret_configs'), i))),
    tls_certificates: list(o, 'tls_certificates', path).map((c, i) => {
      const p = at(at(path, 'tls_certificates'), i);
      const co = asObj(c, p);
      const chain = dataSource(optObj(co, 'certificate_chain', p), at(p, 'certificate_chain'));
      const key = dataSource(optObj(co, 'private_key', p), at(p, 'private_key'));
      return compact({
        certificate_chain: chain && compact({ filename: chain.filename, inline_string: chain.inline_string ?? (chain.inline_bytes ? Buffer.from(chain.inline_bytes).toString('utf8') : undefined) }),
        private_key: key && compact({ filename: key.filename, inline_string: key.inline_string ?? (key.inline_bytes ? Buffer.from(key.inline_bytes).toString('utf8') : undefined) }),
      });
    }),
    validation_context,
    validation_context_sds_secret_config,
  });
}

export function upstreamTlsContext(o: Obj, path: string): UpstreamTlsContext {
  const ctx = optObj(o, 'common_tls_context', path);
  return compact({
    common_tls_context: commonTlsContext(ctx ?? {}, at(path, 'common_tls_context')),
    sni: optStr(o, 'sni', path) || undefined,
    allow_renegotiation: optBool(o, 'allow_renegotiation', path),
  });
}

export function downstreamTlsContext(o: Obj, path: string): DownstreamTlsContext {
  const ctx = optObj(o, 'common_tls_context', path);
  return compact({
    common_tls_context: commonTlsContext(ctx ?? {}, at(path, 'common_tls_context')),
    require_client_certificate: optWrappedBool(o, 'require_client_certificate', path),
    require_sni: optWrappedBool(o, 'require_sni', path),
  });
}

/** envoy.config.core.v3.TransportSocket: TLS contexts and raw_buffer decoded, anything else opaque. */
export function transportSocket(v: unknown, path: string): TransportSocket {
  const o = asObj(v, path);
  const name = str(o, 'name', path);
  if (o['typed_config'] === undefined) {
    // Name-only sockets are legal; the two Envoy names Meshlet knows imply their config.
    return name === 'envoy.transport_sockets.raw_buffer' || name === 'raw_buffer' ? { name, raw_buffer: true } : { name };
  }
  const tp = at(path, 'typed_config');
  const any = anyValue(o['typed_config'], tp);
  switch (typeName(any)) {
    case UPSTREAM_TLS:
      return { name, upstream_tls: upstreamTlsContext(decodeKnown(any, tp)!, tp) };
    case DOWNSTREAM_TLS:
      return { name, downstream_tls: downstreamTlsContext(decodeKnown(any, tp)!, tp) };
    case RAW_BUFFER:
      return { name, raw_buffer: true };
    default:
      return { name, opaque: opaque(any) };
  }
}
