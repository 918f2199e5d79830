import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { DiagnosticSink } from './DiagnosticSink.js';
import { parseIstioDuration } from './IstioDuration.js';

/** Where a resource came from, shared by every SpecNode inside it. */
export interface ResourceScope {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly lineCounter: LineCounter;
  readonly sink: DiagnosticSink;
  /** `VirtualService reviews`: prefixes every diagnostic path. */
  readonly label: string;
}

/** Per-field treatment for fields Istio defines but Meshlet does not implement. */
export interface FieldNotes {
  /** Accepted, no effect: a warning saying why that is harmless. */
  readonly ignored?: Readonly<Record<string, string>>;
  /** Accepted by Istio but would change behaviour if dropped silently: an error. */
  readonly unsupported?: Readonly<Record<string, string>>;
}

/**
 * A cursor on one YAML node of an Istio resource, with its field path, that reads
 * typed values and reports every problem at the node's own line and column. Missing
 * nodes are represented too (node undefined) so that callers can chain `field()`
 * without null checks; reads of a missing node return undefined.
 */
export class SpecNode {
  constructor(
    readonly scope: ResourceScope,
    private readonly rawNode: unknown,
    readonly path: string,
    /** The mapping key naming this node, for "unknown field" positions. */
    private readonly keyNode?: unknown,
    /** The parent, where "required" errors are reported when this node is missing. */
    private readonly parent?: SpecNode,
  ) {}

  private get node(): Node | undefined {
    let n = this.rawNode as Node | null | undefined;
    // Anchors and aliases are legal YAML; resolve them so `*defaults` reads like the anchored node.
    for (let hops = 0; n && isAlias(n) && hops < 16; hops++) n = (n.resolve(this.scope.doc) ?? undefined) as Node | undefined;
    if (!n || isAlias(n)) return undefined;
    if (isScalar(n) && n.value === null) return undefined;
    return n;
  }

  /** The same node, reported under another resource label (set once kind and name are known). */
  withLabel(label: string): SpecNode {
    return new SpecNode({ ...this.scope, label }, this.rawNode, this.path, this.keyNode, this.parent);
  }

  /** 1-based line where this node (or, when missing, its parent) starts. */
  get line(): number {
    return this.position(this.locate() ?? this.parent?.locate()).line;
  }

  get present(): boolean {
    return this.node !== undefined;
  }

  // ------------------------------------------------------------ diagnostics

  private position(target: unknown): { line: number; column: number } {
    const range = (target as Node | undefined)?.range;
    if (range) {
      const { line, col } = this.scope.lineCounter.linePos(range[0]);
      return { line, column: col };
    }
    if (this.parent) return this.parent.position(this.parent.rawNode ?? this.parent.keyNode);
    return { line: 1, column: 1 };
  }

  private locate(): unknown {
    return this.node ?? this.keyNode;
  }

  error(message: string, at: 'value' | 'key' = 'value'): void {
    this.report('error', message, at);
  }

  warn(message: string, at: 'value' | 'key' = 'value'): void {
    this.report('warning', message, at);
  }

  private report(severity: 'error' | 'warning', message: string, at: 'value' | 'key'): void {
    const target = at === 'key' ? (this.keyNode ?? this.locate()) : this.locate();
    // A missing node has no position of its own: point at the parent that should contain it.
    const pos = target ? this.position(target) : this.parent ? this.parent.position(this.parent.locate()) : { line: 1, column: 1 };
    this.scope.sink.report({
      file: this.scope.file,
      line: pos.line,
      column: pos.column,
      path: `${this.scope.label}: ${this.path}`,
      message,
      severity,
    });
  }

  // ------------------------------------------------------------ structure

  /** True when the node is a mapping; reports an error (once) when present but not a mapping. */
  isMapping(): boolean {
    const n = this.node;
    if (n === undefined) return false;
    if (isMap(n)) return true;
    this.error(`expected a mapping (key: value fields), got ${describe(n)}`);
    return false;
  }

  private pairs(): { key: string; keyNode: unknown; value: unknown }[] {
    const n = this.node;
    if (!n || !isMap(n)) return [];
    const out: { key: string; keyNode: unknown; value: unknown }[] = [];
    for (const pair of n.items) {
      const k = pair.key as Node | null;
      const key = k && isScalar(k) ? String(k.value) : undefined;
      if (key === undefined) continue; // complex keys are reported by checkFields
      out.push({ key, keyNode: k, value: pair.value });
    }
    return out;
  }

  /** The child at `key` (possibly missing). */
  field(key: string): SpecNode {
    const p = this.pairs().find((x) => x.key === key);
    return new SpecNode(this.scope, p?.value, this.path ? `${this.path}.${key}` : key, p?.keyNode, this);
  }

  /** The child at `key`, with an error when it is missing. */
  required(key: string, hint = ''): SpecNode {
    const child = this.field(key);
    if (!child.present) this.childMissing(key, hint);
    return child;
  }

  private childMissing(key: string, hint: string): void {
    const full = this.path ? `${this.path}.${key}` : key;
    const pos = this.position(this.locate());
    this.scope.sink.report({
      file: this.scope.file,
      line: pos.line,
      column: pos.column,
      path: `${this.scope.label}: ${full}`,
      message: `${key} is required${hint ? `: ${hint}` : ''}`,
      severity: 'error',
    });
  }

  /** Entries of a mapping, in source order. */
  entries(): [string, SpecNode][] {
    if (!this.isMapping()) return [];
    return this.pairs().map((p) => [p.key, new SpecNode(this.scope, p.value, `${this.path}.${p.key}`, p.keyNode, this)]);
  }

  /** Items of a sequence (empty when missing; error when not a sequence). */
  items(): SpecNode[] {
    const n = this.node;
    if (n === undefined) return [];
    if (!isSeq(n)) {
      this.error(`expected a list, got ${describe(n)}`);
      return [];
    }
    return n.items.map((item, i) => new SpecNode(this.scope, item, `${this.path}[${i}]`, undefined, this));
  }

  /**
   * Reports fields this mapping must not contain: unknown names (typos are errors,
   * as in Istio's CRD schema validation), unsupported ones (errors) and ignored ones
   * (warnings). Returns false when the node is present but not a mapping.
   */
  checkFields(known: readonly string[], notes: FieldNotes = {}): boolean {
    if (!this.isMapping()) return !this.present;
    const n = this.node;
    if (n && isMap(n)) {
      for (const pair of n.items) {
        const k = pair.key as Node | null;
        if (!k || !isScalar(k)) {
          new SpecNode(this.scope, k, this.path, k, this).error('field names must be plain strings');
        }
      }
    }
    for (const { key, keyNode, value } of this.pairs()) {
      const child = new SpecNode(this.scope, value, this.path ? `${this.path}.${key}` : key, keyNode, this);
      const unsupported = notes.unsupported?.[key];
      const ignored = notes.ignored?.[key];
      if (unsupported !== undefined) child.error(`not supported by Meshlet: ${unsupported}`, 'key');
      else if (ignored !== undefined) child.warn(`ignored: ${ignored}`, 'key');
      else if (!known.includes(key)) {
        const all = [...known, ...Object.keys(notes.ignored ?? {}), ...Object.keys(notes.unsupported ?? {})];
        const guess = closest(key, all);
        child.error(`unknown field "${key}"${guess ? `; did you mean "${guess}"?` : `; expected one of ${all.join(', ')}`}`, 'key');
      }
    }
    return true;
  }

  // ------------------------------------------------------------ scalars

  private scalar(): unknown {
    const n = this.node;
    if (n === undefined) return undefined;
    if (!isScalar(n)) return NOT_SCALAR;
    return n.value;
  }

  string(): string | undefined {
    const v = this.scalar();
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    // YAML turns `version: 1` or `on` into numbers/booleans; Istio's fields are strings, so accept the text.
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(this.sourceText() ?? v);
    this.error(`expected a string, got ${describe(this.node)}`);
    return undefined;
  }

  private sourceText(): string | undefined {
    const n = this.node;
    return n && isScalar(n) && typeof n.source === 'string' ? n.source : undefined;
  }

  /** A number, checked against integer-ness and bounds (inclusive). */
  number(opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
    let v = this.scalar();
    if (v === undefined) return undefined;
    if (typeof v === 'bigint') v = Number(v);
    // Quoted numbers ("100") are common in hand-written YAML and proto3 JSON allows them.
    if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) v = Number(v);
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.error(`expected a number, got ${describe(this.node)}`);
      return undefined;
    }
    if (opts.integer && !Number.isInteger(v)) {
      this.error(`expected a whole number, got ${v}`);
      return undefined;
    }
    if (opts.min !== undefined && v < opts.min) {
      this.error(`must be at least ${opts.min}, got ${v}`);
      return undefined;
    }
    if (opts.max !== undefined && v > opts.max) {
      this.error(`must be at most ${opts.max}, got ${v}`);
      return undefined;
    }
    return v;
  }

  boolean(): boolean | undefined {
    const v = this.scalar();
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    this.error(`expected true or false, got ${describe(this.node)}`);
    return undefined;
  }

  /** One of `values` (Istio enums are upper-case names). */
  oneOf<T extends string>(values: readonly T[]): T | undefined {
    const s = this.string();
    if (s === undefined) return undefined;
    if ((values as readonly string[]).includes(s)) return s as T;
    const guess = closest(s, values);
    this.error(`"${s}" is not one of ${values.join(', ')}${guess ? `; did you mean "${guess}"?` : ''}`);
    return undefined;
  }

  /** A duration such as `1s`, `500ms`, `1m30s`, in nanoseconds. */
  duration(opts: { min?: number } = {}): number | undefined {
    const s = this.string();
    if (s === undefined) return undefined;
    const ns = parseIstioDuration(s);
    if (ns === undefined) {
      this.error(`"${s}" is not a duration; write a number with a unit, e.g. 500ms, 1s, 1.5s, 2m`);
      return undefined;
    }
    if (opts.min !== undefined && ns < opts.min) {
      this.error(`must be at least ${opts.min / 1e6}ms, got ${s}`);
      return undefined;
    }
    return ns;
  }

  /** A map of string to string, e.g. labels. */
  stringMap(): Record<string, string> | undefined {
    if (!this.present) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of this.entries()) {
      const s = v.string();
      if (s !== undefined) out[k] = s;
    }
    return out;
  }

  /** A list of strings. */
  strings(): string[] {
    const out: string[] = [];
    for (const item of this.items()) {
      const s = item.string();
      if (s !== undefined) out.push(s);
    }
    return out;
  }
}

const NOT_SCALAR = Symbol('not a scalar');

function describe(n: unknown): string {
  if (n === undefined || n === null) return 'nothing';
  if (isMap(n)) return 'a mapping';
  if (isSeq(n)) return 'a list';
  if (isScalar(n)) return typeof n.value === 'string' ? `"${n.value}"` : String(n.value);
  return 'an unsupported YAML node';
}

/** The candidate within a small edit distance (or differing only in case), for "did you mean" hints. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
