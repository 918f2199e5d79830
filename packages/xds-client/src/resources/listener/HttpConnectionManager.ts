import type { HttpConnectionManager } from '../model.js';
import { httpFilter } from '../common/HttpFilters.js';
import { routeConfiguration } from '../route/RouteConfigurationResource.js';
import { at, compact, fail, list, optDurationMs, optObj, optStr, optWrappedBool, str, type Obj } from '../common/ObjectReader.js';

export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager (gRFC A27 / A39). */
export function httpConnectionManager(o: Obj, path: string): HttpConnectionManager {
  const rds = optObj(o, 'rds', path);
  const rc = optObj(o, 'route_config', path);
  if (o['scoped_routes'] !== undefined) fail(at(path, 'scoped_routes'), 'scoped_routes is not supported');
  if (!rds && !rc) fail(path, 'one of rds or route_config is required');
  let rdsModel: HttpConnectionManager['rds'];
  if (rds) {
    const rp = at(path, 'rds');
    const route_config_name = str(rds, 'route_config_name', rp);
    if (route_config_name === '') fail(at(rp, 'route_config_name'), 'route_config_name is required');
    const cs = optObj(rds, 'config_source', rp);
    // gRFC A27 requires the RDS config source to be ads (or self); anything else cannot be fetched over the one ADS stream.
    rdsModel = { route_config_name, config_source_ads: cs !== undefined && (cs['ads'] !== undefined || cs['self'] !== undefined) };
  }
  const filters = list(o, 'http_filters', path).map((f, i) => httpFilter(f, at(at(path, 'http_filters'), i)));
  // Duplicate filter names are accepted, as Envoy does (gRFC A39 would NACK them, but istiod emits two
  // envoy.filters.http.rbac filters on inbound chains); a per-route override keyed by a name applies to each.
  const chpo = optObj(o, 'common_http_protocol_options', path);
  return compact({
    stat_prefix: optStr(o, 'stat_prefix', path),
    rds: rdsModel,
    route_config: rc ? routeConfiguration(rc, at(path, 'route_config')) : undefined,
    http_filters: filters,
    max_stream_duration: chpo ? optDurationMs(chpo, 'max_stream_duration', at(path, 'common_http_protocol_options')) : undefined,
    // Absent means true (Envoy's default); kept absent here so an unset field reads as unset.
    generate_request_id: optWrappedBool(o, 'generate_request_id', path),
  });
}
