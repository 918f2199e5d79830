/**
 * Whether `pattern` lies in a plain subset of RE2 syntax that RE2 always compiles: ASCII literals,
 * `.`, `^`, `$`, `\b`, `\B`, `\d \D \s \S \w \W`, escaped metacharacters, bracket classes of plain
 * characters, ranges and those escapes, `(...)` and `(?:...)` groups, `|` between non-empty
 * alternatives, and `* + ? {n} {n,} {n,m}` (each optionally lazy) within RE2's repeat limits, with a
 * program small enough that no size limit applies. false means "not known here", never "invalid":
 * the caller then asks re2-wasm, whose verdict and message stay the reference.
 *
 * Why: validating a route's regex at push time (a bad one is NACKed) otherwise loads re2-wasm and
 * compiles the pattern, about 4 MB of resident memory (module, its compiled code, the first compile),
 * in a process whose requests may never reach that route; route matchers compile on their first
 * match instead (core's Re2Pattern.ts). Soundness is what matters: plain-re2-syntax.test.ts checks
 * against re2-wasm that every pattern accepted here compiles.
 */
export function isPlainRe2(pattern: string): boolean {
  if (pattern.length === 0) return false;
  const p = new PlainParser(pattern);
  const tree = p.alternation(0);
  return tree !== undefined && p.at === pattern.length && tree.product <= MAX_REPEAT && tree.cost <= MAX_COST;
}

/** RE2's largest repeat count, and its bound on the product of nested counted repeats (kMaxRepeat). */
const MAX_REPEAT = 1000;
/**
 * Instructions, estimated generously (a class or `.` as 30, UTF-8 ranges included): far below the
 * program size at which RE2's default 8 MB budget fails a compile (hundreds of thousands).
 */
const MAX_COST = 20_000;
/** Group nesting accepted here; RE2's own limit is higher. */
const MAX_DEPTH = 50;
const CLASS_COST = 30;

/** Characters that stand for themselves outside a class: printable ASCII but the metacharacters (and `]`, `}`, left to RE2). */
const LITERAL = /^[A-Za-z0-9 !"#%&',\-/:;<=>@_`~]$/;
/** Characters that stand for themselves inside a class: printable ASCII but `\`, `[`, `]`, `-`. */
const CLASS_LITERAL = /^[A-Za-z0-9 !"#$%&'()*+,./:;<=>?@^_`{|}~]$/;
/** Escapes of metacharacters (and `/`, `-`), which RE2 reads as the character itself. */
const ESCAPED_LITERAL = '\\.+*?()|[]{}^$/-';
const PERL_CLASSES = 'dDsSwW';

/** A parsed piece of pattern: its estimated instructions, the largest product of nested counted repeats, and whether it may be repeated. */
interface Tree {
  readonly cost: number;
  readonly product: number;
  readonly repeatable: boolean;
}

class PlainParser {
  at = 0;

  constructor(private readonly s: string) {}

  /** alternation := concat ('|' concat)*, every alternative non-empty. */
  alternation(depth: number): Tree | undefined {
    if (depth > MAX_DEPTH) return undefined;
    let cost = 0;
    let product = 1;
    for (;;) {
      const alt = this.concat(depth);
      if (alt === undefined) return undefined;
      cost += alt.cost + 1;
      product = Math.max(product, alt.product);
      if (this.s[this.at] !== '|') return { cost, product, repeatable: true };
      this.at++;
    }
  }

  private concat(depth: number): Tree | undefined {
    let cost = 0;
    let product = 1;
    let pieces = 0;
    while (this.at < this.s.length && this.s[this.at] !== '|' && this.s[this.at] !== ')') {
      const piece = this.piece(depth);
      if (piece === undefined) return undefined;
      cost += piece.cost;
      product = Math.max(product, piece.product);
      pieces++;
    }
    return pieces > 0 ? { cost, product, repeatable: true } : undefined;
  }

  /** piece := atom quantifier? ; a quantifier is never followed by another (RE2: bad repetition operator). */
  private piece(depth: number): Tree | undefined {
    const atom = this.atom(depth);
    if (atom === undefined) return undefined;
    const c = this.s[this.at];
    if (c !== '*' && c !== '+' && c !== '?' && c !== '{') return atom;
    if (!atom.repeatable) return undefined;
    let tree: Tree;
    if (c === '{') {
      const counts = this.counts();
      if (counts === undefined) return undefined;
      const [min, max] = counts;
      // As RE2's repeat check divides by each counted repeat: the max, or the min when unbounded.
      const factor = max ?? min;
      tree = { cost: atom.cost * Math.max(factor, 1) + 1, product: atom.product * Math.max(factor, 1), repeatable: false };
    } else {
      this.at++;
      tree = { cost: atom.cost + 1, product: atom.product, repeatable: false };
    }
    if (this.s[this.at] === '?') this.at++;
    const next = this.s[this.at];
    return next === '*' || next === '+' || next === '?' || next === '{' ? undefined : tree;
  }

  /** `{n}`, `{n,}` or `{n,m}` with n <= m <= 1000: [n, m], m undefined when unbounded. */
  private counts(): [number, number | undefined] | undefined {
    const m = /^\{(\d{1,4})(?:(,)(\d{1,4})?)?\}/.exec(this.s.slice(this.at, this.at + 11));
    if (m === null) return undefined;
    this.at += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === undefined ? undefined : Number(m[3]);
    if (min > MAX_REPEAT || (max !== undefined && (max > MAX_REPEAT || max < min))) return undefined;
    return [min, max];
  }

  private atom(depth: number): Tree | undefined {
    const c = this.s[this.at]!;
    if (LITERAL.test(c)) {
      this.at++;
      return { cost: 1, product: 1, repeatable: true };
    }
    switch (c) {
      case '.':
        this.at++;
        return { cost: CLASS_COST, product: 1, repeatable: true };
      case '^':
      case '$':
        this.at++;
        return { cost: 1, product: 1, repeatable: false };
      case '[':
        return this.bracketClass();
      case '(': {
        this.at++;
        if (this.s[this.at] === '?') {
          if (this.s[this.at + 1] !== ':') return undefined;
          this.at += 2;
        }
        const inner = this.alternation(depth + 1);
        if (inner === undefined || this.s[this.at] !== ')') return undefined;
        this.at++;
        return { cost: inner.cost + 2, product: inner.product, repeatable: true };
      }
      case '\\': {
        const e = this.s[this.at + 1];
        if (e === undefined) return undefined;
        this.at += 2;
        if (e === 'b' || e === 'B') return { cost: 1, product: 1, repeatable: false };
        if (PERL_CLASSES.includes(e)) return { cost: CLASS_COST, product: 1, repeatable: true };
        return ESCAPED_LITERAL.includes(e) ? { cost: 1, product: 1, repeatable: true } : undefined;
      }
      default:
        return undefined;
    }
  }

  /** `[` `^`? items `]`: plain characters, ranges of them (low <= high), escapes; `-` only first or last. */
  private bracketClass(): Tree | undefined {
    this.at++;
    if (this.s[this.at] === '^') this.at++;
    if (this.s[this.at] === ']') return undefined;
    let first = true;
    for (;;) {
      const c = this.s[this.at];
      if (c === undefined) return undefined;
      if (c === ']') {
        this.at++;
        return { cost: CLASS_COST, product: 1, repeatable: true };
      }
      if (c === '-') {
        if (!first && this.s[this.at + 1] !== ']') return undefined;
        this.at++;
      } else if (c === '\\') {
        const e = this.s[this.at + 1];
        if (e === undefined || !(PERL_CLASSES.includes(e) || ESCAPED_LITERAL.includes(e))) return undefined;
        this.at += 2;
        // An escape is never a range end here.
        if (this.s[this.at] === '-' && this.s[this.at + 1] !== ']') return undefined;
      } else if (CLASS_LITERAL.test(c)) {
        this.at++;
        if (this.s[this.at] === '-' && this.s[this.at + 1] !== ']') {
          const high = this.s[this.at + 1];
          if (high === undefined || !CLASS_LITERAL.test(high) || high < c) return undefined;
          this.at += 2;
        }
      } else {
        return undefined;
      }
      first = false;
    }
  }
}
