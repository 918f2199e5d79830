#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MeshFileSource } from './meshfile/index.js';
import { AdsServer, publishResourceFiles } from './server/index.js';
import { MeshConfigError, validateMesh, type MeshConfigDiagnostic } from './istio/index.js';

const USAGE = `usage:
  meshlet validate <mesh.yaml>...            check files the way istioctl analyze would
  meshlet control-plane --config <mesh.yaml> [--port 15010] [--host 127.0.0.1]
                                             serve mesh.yaml over ADS (SotW + delta) to local processes
  meshlet control-plane --resources <xds.yaml>... [--port 15010]
                                             serve xDS resource files (JSON/YAML, proto3 JSON) instead
  meshlet proxy-config <host:port> --bootstrap <bootstrap.json> [--json] [--timeout 5000]
                                             connect to the xDS server as the bootstrap's node and print the
                                             listener, routes, clusters and endpoints the target resolves to
  meshlet proxy-config <host:port> --mesh <mesh.yaml> [--json]
                                             the same for the embedded default (no control plane)
  meshlet certs --dir <dir> --namespace <ns> --service-account <sa> [--trust-domain cluster.local]
                                             issue a dev SPIFFE workload certificate as istio-agent writes it
                                             (cert-chain.pem, key.pem, root-cert.pem); the CA stays in <dir>

  MESHLET_DEBUG=xds,routing (or all) explains xDS traffic and routing decisions on stderr`;

function formatDiagnostic(d: MeshConfigDiagnostic): string {
  return `${d.file ?? '<input>'}:${d.line ?? 0}:${d.column ?? 0}: ${d.severity}: ${d.path}: ${d.message}`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'validate') {
    if (rest.length === 0) {
      console.error(USAGE);
      return 2;
    }
    let errors = 0;
    for (const file of rest) {
      const diagnostics = validateMesh(readFileSync(file, 'utf8'), { file });
      for (const d of diagnostics) {
        console.log(formatDiagnostic(d));
        if (d.severity === 'error') errors++;
      }
      if (diagnostics.length === 0) console.log(`${file}: ok`);
    }
    return errors > 0 ? 1 : 0;
  }
  // Loaded on demand: they need @meshlet/core, which validate and control-plane do not.
  if (command === 'proxy-config') {
    const { proxyConfigCommand } = await import('./proxyconfig/index.js');
    return proxyConfigCommand(rest, (t) => process.stdout.write(t), (t) => console.error(t));
  }
  if (command === 'certs') {
    const { certsCommand } = await import('./certs/index.js');
    return certsCommand(rest, (t) => process.stdout.write(t), (t) => console.error(t));
  }
  if (command === 'control-plane') {
    const { values } = parseArgs({
      args: rest,
      options: { config: { type: 'string' }, resources: { type: 'string', multiple: true }, port: { type: 'string', default: '15010' }, host: { type: 'string', default: '127.0.0.1' } },
    });
    const server = new AdsServer();
    if (values.resources && !values.config) {
      const { counts } = publishResourceFiles(server, values.resources);
      console.log(`meshlet: serving ${JSON.stringify(counts)} from ${values.resources.join(', ')}`);
      const { port } = await server.listen(Number(values.port), values.host);
      console.log(`meshlet: ADS server listening on ${values.host}:${port}`);
      process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
      process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
      return await new Promise<number>(() => {});
    }
    if (!values.config) {
      console.error(USAGE);
      return 2;
    }
    const publish = (source: MeshFileSource) => {
      server.setSnapshot(source.mesh);
      console.log(`meshlet: serving ${source.mesh.listeners.length} listeners, ${source.mesh.clusters.length} clusters from ${source.path}`);
    };
    const source: MeshFileSource = new MeshFileSource(values.config, {
      onReload: (r) => (r.ok ? publish(source) : console.error(`meshlet: kept the last good config: ${r.error.message}`)),
    });
    publish(source);
    const { port } = await server.listen(Number(values.port), values.host);
    console.log(`meshlet: ADS server listening on ${values.host}:${port}`);
    const stop = () => {
      source.close();
      void server.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return await new Promise<number>(() => {});
  }
  console.error(USAGE);
  return command ? 2 : 0;
}

main(process.argv.slice(2)).then(
  // Exit once stdout is flushed: piped output (proxy-config --json | jq) is async on some platforms.
  (code) => void process.stdout.write('', () => process.exit(code)),
  (error: unknown) => {
    if (error instanceof MeshConfigError) {
      for (const d of error.diagnostics) console.error(formatDiagnostic(d));
    } else {
      console.error(`meshlet: ${(error as Error).message}`);
    }
    process.exit(1);
  },
);
