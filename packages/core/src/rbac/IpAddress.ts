/**
 * An IPv4 or IPv6 address as four 32-bit words (IPv4 uses only `w3`), parsed once per connection or
 * request so that CIDR checks are a few integer comparisons.
 *
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are canonicalised to IPv4: Node reports IPv4 peers of a
 * dual-stack (`::`) listener in that form, and the peer really is an IPv4 host, so IPv4 CIDRs in RBAC
 * policies and FilterChainMatch must apply to it. (Envoy listening on `::` with ipv4_compat does the same.)
 */
export class IpAddress {
  private constructor(
    readonly v4: boolean,
    readonly w0: number,
    readonly w1: number,
    readonly w2: number,
    readonly w3: number,
  ) {}

  /** undefined for anything that is not a literal IPv4/IPv6 address (a zone id `%eth0` is ignored). */
  static parse(text: string): IpAddress | undefined {
    if (text.includes(':')) return IpAddress.parseV6(text);
    const v4 = parseV4(text);
    return v4 === undefined ? undefined : new IpAddress(true, 0, 0, 0, v4);
  }

  static fromWords(v4: boolean, w0: number, w1: number, w2: number, w3: number): IpAddress {
    return new IpAddress(v4, w0 >>> 0, w1 >>> 0, w2 >>> 0, w3 >>> 0);
  }

  private static parseV6(input: string): IpAddress | undefined {
    const zone = input.indexOf('%');
    const text = zone >= 0 ? input.slice(0, zone) : input;
    const groups: number[] = [];
    let gap = -1;
    const halves = text.split('::');
    if (halves.length > 2) return undefined;
    const parseHalf = (half: string, allowV4Tail: boolean): number[] | undefined => {
      if (half === '') return [];
      const parts = half.split(':');
      const out: number[] = [];
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i]!;
        if (allowV4Tail && i === parts.length - 1 && p.includes('.')) {
          const v4 = parseV4(p);
          if (v4 === undefined) return undefined;
          out.push(v4 >>> 16, v4 & 0xffff);
        } else {
          if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
          out.push(parseInt(p, 16));
        }
      }
      return out;
    };
    if (halves.length === 2) {
      const head = parseHalf(halves[0]!, false);
      const tail = parseHalf(halves[1]!, true);
      if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
      groups.push(...head);
      gap = groups.length;
      groups.push(...tail);
    } else {
      const all = parseHalf(text, true);
      if (all === undefined || all.length !== 8) return undefined;
      groups.push(...all);
    }
    if (gap >= 0) groups.splice(gap, 0, ...new Array<number>(8 - groups.length).fill(0));
    const w = (i: number) => ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
    const [w0, w1, w2, w3] = [w(0), w(1), w(2), w(3)];
    if (w0 === 0 && w1 === 0 && w2 === 0xffff) return new IpAddress(true, 0, 0, 0, w3);
    return new IpAddress(false, w0, w1, w2, w3);
  }

  isLoopback(): boolean {
    // 127.0.0.0/8 and ::1 (Envoy's Network::Utility::isLoopbackAddress).
    if (this.v4) return this.w3 >>> 24 === 127;
    return this.w0 === 0 && this.w1 === 0 && this.w2 === 0 && this.w3 === 1;
  }

  equals(o: IpAddress): boolean {
    return this.v4 === o.v4 && this.w0 === o.w0 && this.w1 === o.w1 && this.w2 === o.w2 && this.w3 === o.w3;
  }

  toString(): string {
    if (this.v4) return [this.w3 >>> 24, (this.w3 >>> 16) & 255, (this.w3 >>> 8) & 255, this.w3 & 255].join('.');
    const g: string[] = [];
    for (const w of [this.w0, this.w1, this.w2, this.w3]) g.push((w >>> 16).toString(16), (w & 0xffff).toString(16));
    return g.join(':');
  }
}

const V4_PART = /^(?:0|[1-9][0-9]{0,2})$/;

/** Dotted quad only; leading zeros are rejected because inet_pton and Node reject them (octal ambiguity). */
function parseV4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!V4_PART.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}
