import type { SpecNode } from './SpecNode.js';
import { durationObject, fractionalPercent, type ProtoObject } from './ProtoObjects.js';

/** The gRPC status codes an abort may return (0 OK is not a fault). */
const GRPC_STATUS: Readonly<Record<string, number>> = {
  CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

/**
 * `fault` of an HTTP route as envoy.extensions.filters.http.fault.v3.HTTPFault
 * (istiod's TranslateFault). Istio's percentage is 0-100 and becomes a MILLION
 * fraction; when it is absent istiod leaves the fraction unset, which Envoy reads
 * as 0%, so no request is faulted: that is written out as an explicit 0 and warned about.
 */
export function translateFault(node: SpecNode): ProtoObject | undefined {
  if (!node.present) return undefined;
  if (!node.checkFields(['delay', 'abort'])) return undefined;
  const out: ProtoObject = {};
  const delay = node.field('delay');
  if (delay.present && delay.checkFields(['fixedDelay', 'percentage'], {
    unsupported: { exponentialDelay: 'only fixedDelay is implemented', percent: 'deprecated integer percent; write percentage: {value: N}' },
  })) {
    const fixed = delay.required('fixedDelay', 'e.g. fixedDelay: 2s').duration({ min: 1e6 });
    const percentage = readPercentage(delay);
    if (fixed !== undefined) out['delay'] = { fixed_delay: durationObject(fixed), percentage };
  }
  const abort = node.field('abort');
  if (abort.present && abort.checkFields(['httpStatus', 'grpcStatus', 'percentage'], {
    unsupported: { http2Error: 'aborting with an HTTP/2 error is not implemented; use httpStatus', percent: 'deprecated integer percent; write percentage: {value: N}' },
  })) {
    const percentage = readPercentage(abort);
    const httpStatus = abort.field('httpStatus').number({ integer: true, min: 200, max: 599 });
    const grpcNode = abort.field('grpcStatus');
    let grpcStatus: number | undefined;
    if (grpcNode.present) {
      const text = grpcNode.string();
      if (text !== undefined) {
        grpcStatus = /^\d+$/.test(text) ? Number(text) : GRPC_STATUS[text.toUpperCase()];
        if (grpcStatus === undefined || grpcStatus < 1 || grpcStatus > 16) {
          grpcNode.error(`"${text}" is not a gRPC status; use a name such as UNAVAILABLE or a code 1-16`);
          grpcStatus = undefined;
        }
      }
    }
    const given = [abort.field('httpStatus').present, grpcNode.present].filter(Boolean).length;
    if (given === 0) abort.error('abort needs httpStatus or grpcStatus');
    else if (given > 1) abort.error('set either httpStatus or grpcStatus, not both');
    else if (httpStatus !== undefined) out['abort'] = { http_status: httpStatus, percentage };
    else if (grpcStatus !== undefined) out['abort'] = { grpc_status: grpcStatus, percentage };
  }
  if (!out['delay'] && !out['abort']) {
    if (!delay.present && !abort.present) node.error('fault needs delay or abort');
    return undefined;
  }
  return out;
}

function readPercentage(parent: SpecNode): ProtoObject {
  const p = parent.field('percentage');
  if (!p.present) {
    parent.warn('percentage is not set, so no request is affected (Istio semantics); add percentage: {value: 100} to affect every request');
    return fractionalPercent(0);
  }
  p.checkFields(['value']);
  const value = p.required('value').number({ min: 0, max: 100 });
  return fractionalPercent(value ?? 0);
}
