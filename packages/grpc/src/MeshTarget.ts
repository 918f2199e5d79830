/**
 * The mesh target (listener name) a channel target names. gRFC A27: for `xds:///NAME`
 * the client watches the Listener called NAME, which istiod names `host:port`. A plain
 * `host:port` is taken as that name too. A non-empty authority (`xds://AUTH/NAME`,
 * gRFC A47 federation) is refused rather than silently ignored.
 */
export function meshTargetOf(target: string): string {
  const match = /^xds:(?:\/\/([^/]*)\/)?(.*)$/i.exec(target);
  if (match === null) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) || target.startsWith('dns:') || target.startsWith('unix:')) {
      throw new TypeError(`meshlet: target "${target}" is not an xds:/// or host:port target`);
    }
    if (target.length === 0) throw new TypeError('meshlet: empty target');
    return target;
  }
  const [, authority, name] = match;
  if (authority) throw new TypeError(`meshlet: target "${target}" names xDS authority "${authority}"; federation (gRFC A47) is not supported by MeshChannel`);
  const listener = name!.replace(/^\/+/, '');
  if (listener.length === 0) throw new TypeError(`meshlet: target "${target}" names no listener`);
  return listener;
}
