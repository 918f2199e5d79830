import { CidrMatcher } from './CidrMatcher.js';
import type { CidrRangeInput } from './CidrMatcher.js';
import type { RbacMatcher } from './RbacMatcher.js';
import type { RbacRequestContext } from './RbacRequestContext.js';
import { asObject } from './RbacRuleReader.js';

/** Which connection address a CIDR rule reads. */
export type IpRuleSide = 'source' | 'destination';

/**
 * `destination_ip` (local address) and `source_ip` / `direct_remote_ip` / `remote_ip` (peer address).
 * gRFC A41: the three source kinds are all the peer address while PROXY protocol and
 * xff_num_trusted_hops are unsupported.
 */
export class IpRule implements RbacMatcher {
  private readonly cidr: CidrMatcher;

  constructor(
    raw: unknown,
    fieldPath: string,
    private readonly side: IpRuleSide,
  ) {
    this.cidr = new CidrMatcher(asObject(raw, fieldPath) as CidrRangeInput, fieldPath);
  }

  matches(ctx: RbacRequestContext): boolean {
    return this.cidr.contains(this.side === 'source' ? ctx.sourceIp : ctx.destinationIp);
  }
}
