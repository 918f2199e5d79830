import type { CidrRange } from '@meshlet/xds-client';
import { ValidationError } from '@meshlet/xds-client';
import { IpAddress } from './IpAddress.js';

/** A CidrRange as found in RBAC rules (proto object form: prefix_len may still be a UInt32Value) or the model. */
export type CidrRangeInput = CidrRange | { readonly address_prefix?: unknown; readonly prefix_len?: unknown };

function mask(bits: number): number {
  // bits in [0, 32]; `<<` is mod 32 in JS, so 0 and 32 are special-cased.
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * A compiled envoy.config.core.v3.CidrRange. As in Envoy, address bits beyond `prefix_len` are ignored
 * (10.1.2.3/8 is 10.0.0.0/8) and an absent prefix_len is 0. An IPv4 range never matches an IPv6
 * address and vice versa (IPv4-mapped addresses count as IPv4, see IpAddress). An IPv4-mapped IPv6
 * range (`::ffff:10.0.0.0/104`) is the IPv4 range it denotes.
 */
export class CidrMatcher {
  readonly v4: boolean;
  /** Prefix length within the family (0..32 or 0..128): the specificity used by filter chain matching. */
  readonly prefixLen: number;
  private readonly m0: number;
  private readonly m1: number;
  private readonly m2: number;
  private readonly m3: number;
  private readonly a0: number;
  private readonly a1: number;
  private readonly a2: number;
  private readonly a3: number;
  /** Canonical text, e.g. `10.0.0.0/8`: two ranges with the same key are the same range. */
  readonly key: string;

  constructor(range: CidrRangeInput, fieldPath: string) {
    const prefix = range.address_prefix;
    if (typeof prefix !== 'string') throw new ValidationError(`${fieldPath}.address_prefix`, 'address_prefix is required');
    const ip = IpAddress.parse(prefix);
    if (ip === undefined) throw new ValidationError(`${fieldPath}.address_prefix`, `${JSON.stringify(prefix)} is not an IP address`);
    let len = prefixLenOf(range.prefix_len, `${fieldPath}.prefix_len`);
    const max = ip.v4 ? 32 : 128;
    // A mapped range written in IPv6 form: its first 96 bits are the ::ffff: prefix.
    const mappedV6Text = ip.v4 && prefix.includes(':');
    if (mappedV6Text) {
      if (len < 96) throw new ValidationError(`${fieldPath}.prefix_len`, `prefix_len ${len} on an IPv4-mapped address must be at least 96`);
      len -= 96;
    }
    if (len > max) throw new ValidationError(`${fieldPath}.prefix_len`, `prefix_len ${len} exceeds ${max} for ${prefix}`);
    this.v4 = ip.v4;
    this.prefixLen = len;
    if (ip.v4) {
      this.m0 = this.m1 = this.m2 = 0;
      this.m3 = mask(len);
    } else {
      this.m0 = mask(len);
      this.m1 = mask(len - 32);
      this.m2 = mask(len - 64);
      this.m3 = mask(len - 96);
    }
    this.a0 = (ip.w0 & this.m0) >>> 0;
    this.a1 = (ip.w1 & this.m1) >>> 0;
    this.a2 = (ip.w2 & this.m2) >>> 0;
    this.a3 = (ip.w3 & this.m3) >>> 0;
    this.key = `${IpAddress.fromWords(ip.v4, this.a0, this.a1, this.a2, this.a3).toString()}/${len}`;
  }

  contains(ip: IpAddress | undefined): boolean {
    if (ip === undefined || ip.v4 !== this.v4) return false;
    return (
      ((ip.w3 & this.m3) >>> 0) === this.a3 &&
      ((ip.w2 & this.m2) >>> 0) === this.a2 &&
      ((ip.w1 & this.m1) >>> 0) === this.a1 &&
      ((ip.w0 & this.m0) >>> 0) === this.a0
    );
  }
}

function prefixLenOf(v: unknown, fieldPath: string): number {
  // UInt32Value: a bare number in the model, `{ value }` in protobufjs object form, absent = 0.
  const n = v === undefined || v === null ? 0 : typeof v === 'object' ? ((v as { value?: unknown }).value ?? 0) : v;
  const num = typeof n === 'string' ? Number(n) : n;
  if (typeof num !== 'number' || !Number.isInteger(num) || num < 0) {
    throw new ValidationError(fieldPath, `invalid prefix_len ${JSON.stringify(v)}`);
  }
  return num;
}
