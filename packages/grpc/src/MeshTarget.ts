import type { Bootstrap } from '@meshlet/xds-client';

/** The bootstrap fields that name client listeners (gRFC A47). */
export type ListenerNaming = Pick<Bootstrap, 'client_default_listener_resource_name_template' | 'authorities'>;

/**
 * A47: when a template is an `xdstp:` URI the target's name is percent-encoded as a path
 * (everything outside RFC 3986 pchar and '/'), so `host:port` keeps its ':'.
 */
function pathEncoded(name: string): string {
  return name.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/g, (c) => encodeURIComponent(c));
}

function fill(template: string, name: string): string {
  return template.replace('%s', template.startsWith('xdstp:') ? pathEncoded(name) : name);
}

/**
 * The mesh target (Listener name) a channel target names. gRFC A27: for `xds:///NAME` the
 * client watches the Listener named by `client_default_listener_resource_name_template`
 * (`%s`, i.e. NAME, by default; istiod names it `host:port`). gRFC A47: `xds://AUTH/NAME` uses
 * the authority's `client_listener_resource_name_template` (default
 * `xdstp://AUTH/envoy.config.listener.v3.Listener/%s`); an authority the bootstrap does not
 * list is refused. A plain `host:port` is taken as the Listener name itself.
 */
export function meshTargetOf(target: string, naming?: ListenerNaming): string {
  const match = /^xds:(?:\/\/([^/]*)\/)?(.*)$/i.exec(target);
  if (match === null) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) || target.startsWith('dns:') || target.startsWith('unix:')) {
      throw new TypeError(`meshlet: target "${target}" is not an xds:/// or host:port target`);
    }
    if (target.length === 0) throw new TypeError('meshlet: empty target');
    return target;
  }
  const [, authority, name] = match;
  const listener = name!.replace(/^\/+/, '');
  if (listener.length === 0) throw new TypeError(`meshlet: target "${target}" names no listener`);
  if (authority) {
    const config = naming?.authorities[authority];
    if (config === undefined) {
      throw new TypeError(`meshlet: target "${target}" names xDS authority "${authority}", which the bootstrap's "authorities" does not list (gRFC A47)`);
    }
    return fill(config.client_listener_resource_name_template || `xdstp://${authority}/envoy.config.listener.v3.Listener/%s`, listener);
  }
  return fill(naming?.client_default_listener_resource_name_template ?? '%s', listener);
}
