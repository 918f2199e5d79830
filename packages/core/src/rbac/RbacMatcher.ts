import type { RbacRequestContext } from './RbacRequestContext.js';

/** A compiled Permission or Principal. */
export interface RbacMatcher {
  matches(ctx: RbacRequestContext): boolean;
}

/** `and_rules` / `and_ids`: every member matches. */
export class AndMatcher implements RbacMatcher {
  constructor(private readonly members: readonly RbacMatcher[]) {}
  matches(ctx: RbacRequestContext): boolean {
    for (const m of this.members) if (!m.matches(ctx)) return false;
    return true;
  }
}

/** `or_rules` / `or_ids`, and a policy's permission / principal lists: some member matches. */
export class OrMatcher implements RbacMatcher {
  constructor(private readonly members: readonly RbacMatcher[]) {}
  matches(ctx: RbacRequestContext): boolean {
    for (const m of this.members) if (m.matches(ctx)) return true;
    return false;
  }
}

/** `not_rule` / `not_id`. */
export class NotMatcher implements RbacMatcher {
  constructor(private readonly inner: RbacMatcher) {}
  matches(ctx: RbacRequestContext): boolean {
    return !this.inner.matches(ctx);
  }
}

/**
 * A rule whose outcome is fixed at compile time: `any`, and the inputs gRFC A41 hard-codes (metadata
 * never matches; requested_server_name is ""). They are kept as matchers, not optimised away, because
 * a surrounding not_rule / not_id may invert them (A41).
 */
export class ConstantMatcher implements RbacMatcher {
  static readonly TRUE = new ConstantMatcher(true);
  static readonly FALSE = new ConstantMatcher(false);
  private constructor(private readonly value: boolean) {}
  static of(value: boolean): ConstantMatcher {
    return value ? ConstantMatcher.TRUE : ConstantMatcher.FALSE;
  }
  matches(): boolean {
    return this.value;
  }
}
