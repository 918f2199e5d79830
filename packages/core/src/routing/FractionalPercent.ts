import type { FractionalPercent } from '@meshlet/xds-client';

/** envoy.type.v3.FractionalPercent.DenominatorType as a number. */
export function fractionDenominator(denominator: FractionalPercent['denominator']): number {
  switch (denominator) {
    case 'HUNDRED':
      return 100;
    case 'TEN_THOUSAND':
      return 10_000;
    case 'MILLION':
      return 1_000_000;
  }
}
