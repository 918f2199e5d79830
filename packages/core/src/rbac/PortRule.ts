import { ValidationError } from '@meshlet/xds-client';
import type { RbacMatcher } from './RbacMatcher.js';
import type { RbacRequestContext } from './RbacRequestContext.js';
import { asObject } from './RbacRuleReader.js';

/** `destination_port` (exact) and `destination_port_range` (Int32Range: start inclusive, end exclusive). */
export class PortRule implements RbacMatcher {
  private constructor(
    private readonly start: number,
    private readonly end: number,
  ) {}

  static exact(raw: unknown, fieldPath: string): PortRule {
    const n = typeof raw === 'string' ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) throw new ValidationError(fieldPath, `invalid port ${JSON.stringify(raw)}`);
    return new PortRule(n, n + 1);
  }

  static range(raw: unknown, fieldPath: string): PortRule {
    const o = asObject(raw, fieldPath);
    const start = Number(o['start'] ?? 0);
    const end = Number(o['end'] ?? 0);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start > end) {
      throw new ValidationError(fieldPath, `invalid port range [${String(o['start'])}, ${String(o['end'])})`);
    }
    return new PortRule(start, end);
  }

  matches(ctx: RbacRequestContext): boolean {
    const p = ctx.req.destinationPort;
    return p >= this.start && p < this.end;
  }
}
