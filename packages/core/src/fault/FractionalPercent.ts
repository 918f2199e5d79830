import type { FractionalPercent } from '@meshlet/xds-client';
import type { Random } from '../call/HeaderLookup.js';

const DENOMINATORS = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;

export function denominatorOf(p: FractionalPercent): number {
  return DENOMINATORS[p.denominator];
}

/**
 * Envoy ProtobufPercentHelper::evaluateFractionalPercent: a random integer modulo the
 * denominator is below the numerator (a numerator above the denominator means always).
 */
export function evaluateFraction(numerator: number, denominator: number, random: Random): boolean {
  if (numerator <= 0) return false;
  if (numerator >= denominator) return true;
  return Math.floor(random() * denominator) < numerator;
}
