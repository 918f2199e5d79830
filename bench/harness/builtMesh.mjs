// The realistic config's mesh (harness/meshConfig.mjs) from the packages built under one tree, for the
// same-process A/B tools that load two builds side by side. Endpoints are ports 1 to 4: the tools that use
// it answer in-process and open no sockets.
import { realisticMesh, TARGET } from './meshConfig.mjs';

/** `root`'s http package, a resolved Mesh of the realistic config, and real UpstreamPools for the attempts' bookkeeping. */
export async function builtMesh(root) {
  const dist = (path) => import(new URL(`packages/${path}`, `file://${root.replace(/\/?$/, '/')}`).href);
  const x = await dist('xds-client/dist/index.js');
  const core = await dist('core/dist/index.js');
  const http = await dist('http/dist/index.js');
  const { UpstreamPools } = await dist('http/dist/UpstreamPools.js');
  const source = new x.StaticResourceSource();
  const mesh = realisticMesh({ v1Ports: [1, 2], v2Ports: [3, 4] });
  const conv = (type, list) => list.map((o) => x.fromProto3Json(type.typeUrl, o));
  source.replaceFromObjects(x.ClusterLoadAssignmentResource, conv(x.ClusterLoadAssignmentResource, mesh.endpoints));
  source.replaceFromObjects(x.ClusterResource, conv(x.ClusterResource, mesh.clusters));
  source.replaceFromObjects(x.RouteConfigurationResource, conv(x.RouteConfigurationResource, mesh.routes));
  source.replaceFromObjects(x.ListenerResource, conv(x.ListenerResource, mesh.listeners));
  const m = await core.Mesh.create({ source });
  await m.resolve(TARGET);
  const pools = new UpstreamPools();
  return { http, mesh: m, pools, close: async () => (await pools.agent.close(), m.close()) };
}
