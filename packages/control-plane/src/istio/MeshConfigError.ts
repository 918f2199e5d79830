/**
 * One finding about a mesh.yaml: where it is (file, 1-based line and column),
 * which field (`VirtualService reviews: spec.http[0].route[1].weight`), what is
 * wrong and how to fix it. Errors stop translation; warnings describe fields
 * that are accepted but have no effect in Meshlet.
 */
export interface MeshConfigDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

/** The one-line form used in error messages and CLI output: `file:line:column: error: path: message`. */
export function formatDiagnostic(d: MeshConfigDiagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.path ? `${d.path}: ` : ''}${d.message}`;
}

/** Thrown by `translateMesh` when the configuration has at least one error. */
export class MeshConfigError extends Error {
  override readonly name = 'MeshConfigError';
  readonly diagnostics: MeshConfigDiagnostic[];

  constructor(diagnostics: MeshConfigDiagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const shown = errors.length > 0 ? errors : diagnostics;
    super(
      `invalid mesh configuration (${errors.length} error${errors.length === 1 ? '' : 's'}):\n` +
        shown.map((d) => `  ${formatDiagnostic(d)}`).join('\n'),
    );
    this.diagnostics = diagnostics;
  }
}
