import type { MeshConfigDiagnostic } from './MeshConfigError.js';

/**
 * Collects diagnostics in source order. Translation walks a VirtualService once
 * per service port it applies to, so the same finding can be reported more than
 * once; identical findings are kept once.
 */
export class DiagnosticSink {
  private readonly seen = new Set<string>();
  private readonly list: MeshConfigDiagnostic[] = [];

  report(d: MeshConfigDiagnostic): void {
    const key = `${d.severity}\u0000${d.file}\u0000${d.line}\u0000${d.column}\u0000${d.path}\u0000${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(d);
  }

  get hasErrors(): boolean {
    return this.list.some((d) => d.severity === 'error');
  }

  /** Sorted by file, line and column, so output reads top to bottom like the YAML. */
  all(): MeshConfigDiagnostic[] {
    return [...this.list].sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1));
  }
}
