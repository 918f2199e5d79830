import fc from 'fast-check';

/**
 * Regexes built by the plain RE2 subset's own grammar (PlainRe2Syntax.ts) from `piece` (an atom and
 * its quantifier): runs of pieces, alternations, capturing and non-capturing groups repeated by
 * `count`, and with `concatenations`, two patterns one after the other (groups next to alternations).
 */
export function plainPatternGrammar(piece: fc.Arbitrary<string>, count: fc.Arbitrary<string>, concatenations = false): fc.Arbitrary<string> {
  return fc.letrec<{ re: string }>((tie) => ({
    re: fc.oneof(
      { depthSize: 'small' },
      fc.array(piece, { minLength: 1, maxLength: concatenations ? 5 : 4 }).map((ps) => ps.join('')),
      fc.tuple(tie('re'), tie('re')).map(([x, y]) => `${x}|${y}`),
      ...(concatenations ? [fc.tuple(tie('re'), tie('re')).map(([x, y]) => `${x}${y}`)] : []),
      fc.tuple(tie('re'), count).map(([x, q]) => `(${x})${q}`),
      fc.tuple(tie('re'), count).map(([x, q]) => `(?:${x})${q}`),
    ),
  })).re;
}
