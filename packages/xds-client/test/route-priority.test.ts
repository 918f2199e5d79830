import { describe, expect, it } from 'vitest';
import { encodeAny } from '../src/proto/EnvoyProtos.js';
import { RouteConfigurationResource } from '../src/resources/route/RouteConfigurationResource.js';
import { decodeRouteConfigurationWire } from '../src/resources/route/RouteConfigurationWire.js';
import { decodeResourceJson } from '../src/file/ResourceJson.js';
import type { RouteConfiguration } from '../src/resources/model.js';
import { wireAgreement } from './helpers/wireAgreement.js';

/**
 * RouteAction.priority (envoy.config.core.v3.RoutingPriority, field 11): which of the cluster's
 * circuit-breaker threshold sets a route's requests use. DEFAULT is the proto default and is left
 * out of the model, so a route that says nothing and one that says DEFAULT decode alike.
 */
const RC = 'envoy.config.route.v3.RouteConfiguration';
const { expectAgreement, expectRejected } = wireAgreement(RouteConfigurationResource, decodeRouteConfigurationWire);

const table = (route: Record<string, unknown>) => ({ name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route }] }] });

describe('RouteAction.priority', () => {
  it('decodes HIGH; DEFAULT (explicit or absent) is left out', () => {
    const json = (priority?: string) => ({ '@type': `type.googleapis.com/${RC}`, ...table({ cluster: 'c', ...(priority ? { priority } : {}) }) });
    const action = (priority?: string) => (decodeResourceJson(json(priority)).resource as RouteConfiguration).virtual_hosts[0]!.routes[0]!.route!;
    expect(action('HIGH').priority).toBe('HIGH');
    expect(action('DEFAULT')).not.toHaveProperty('priority');
    expect(action()).not.toHaveProperty('priority');
  });

  it('the one-pass wire path leaves a priority to the general path, which gives the same model', () => {
    expect(expectAgreement(encodeAny(RC, table({ cluster: 'c', priority: 'HIGH' })))).toBe('general');
    expect(expectAgreement(encodeAny(RC, table({ cluster: 'c' })))).toBe('fast');
  });

  it('an enum value outside RoutingPriority is NACKed (PGV defined_only)', () => {
    expectRejected(RC, [table({ cluster: 'c', priority: 7 })]);
  });
});
