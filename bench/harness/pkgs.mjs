// The bench imports the *built* packages (run `pnpm build` first; `pnpm bench` does).
// By package name once bench/package.json's workspace deps are installed, else by path to dist.

async function load(name, relative) {
  try {
    return await import(name);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(name)) throw error;
    return import(new URL(relative, import.meta.url).href);
  }
}

export const loadHttp = () => load('@meshlet/http', '../../packages/http/dist/index.js');
export const loadCore = () => load('@meshlet/core', '../../packages/core/dist/index.js');
export const loadXdsClient = () => load('@meshlet/xds-client', '../../packages/xds-client/dist/index.js');
export const loadControlPlane = () => load('@meshlet/control-plane', '../../packages/control-plane/dist/index.js');
export const loadGrpc = () => load('@meshlet/grpc', '../../packages/grpc/dist/index.js');
export const loadGrpcJs = () => load('@grpc/grpc-js', '../../packages/control-plane/node_modules/@grpc/grpc-js/build/src/index.js');
export const loadGrpcJsXds = () => load('@grpc/grpc-js-xds', '../../packages/control-plane/node_modules/@grpc/grpc-js-xds/build/src/index.js');
