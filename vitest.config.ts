import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (name: string, entry = 'index') => fileURLToPath(new URL(`./packages/${name}/src/${entry}.ts`, import.meta.url));

// Tests import workspace packages from source so failures point at src/ lines;
// the packed-tarball check (test/pack) covers the built dist/ output.
export default defineConfig({
  resolve: {
    alias: {
      '@meshlet/xds-client': pkg('xds-client'),
      '@meshlet/control-plane': pkg('control-plane'),
      // Subpaths before their package, which would otherwise match as a prefix.
      '@meshlet/core/client': pkg('core', 'client'),
      '@meshlet/core': pkg('core'),
      '@meshlet/http': pkg('http'),
      '@meshlet/grpc/client': pkg('grpc', 'client'),
      '@meshlet/grpc': pkg('grpc'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
