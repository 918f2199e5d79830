import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { BootstrapError, parseBootstrap } from '../src/bootstrap/index.js';
import { JwtTokenFile, JwtTokenFileError } from '../src/transport/CallCredentials.js';
import { fakeJwt, istioToken } from './helpers/jwt.js';

const dir = mkdtempSync(join(tmpdir(), 'meshlet-callcreds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TOKEN_PATH = '/var/run/secrets/tokens/istio-token';
const tls = { type: 'tls', config: { ca_certificate_file: '/var/run/secrets/istio/root-cert.pem' } };
const server = (extra: Record<string, unknown>) => ({ xds_servers: [{ server_uri: 'istiod.istio-system.svc:15012', channel_creds: [tls], server_features: ['xds_v3'], ...extra }] });

function bootstrapError(doc: unknown): BootstrapError {
  try {
    parseBootstrap(doc);
  } catch (error) {
    if (error instanceof BootstrapError) return error;
    throw error;
  }
  throw new Error('expected a BootstrapError');
}

describe('bootstrap: call_creds (gRFC A97)', () => {
  it('parses jwt_token_file next to tls channel creds, the istiod 15012 shape', () => {
    const b = parseBootstrap(server({ call_creds: [{ type: 'jwt_token_file', config: { jwt_token_file: TOKEN_PATH } }] }));
    expect(b.xds_servers[0]!.channel_creds).toEqual(tls);
    expect(b.xds_servers[0]!.call_creds).toEqual([{ type: 'jwt_token_file', config: { jwt_token_file: TOKEN_PATH } }]);
    expect(Object.isFrozen(b.xds_servers[0]!.call_creds)).toBe(true);
  });

  it('is optional: absent or null means no call credentials', () => {
    expect(parseBootstrap(server({})).xds_servers[0]!.call_creds).toEqual([]);
    expect(parseBootstrap(server({ call_creds: null })).xds_servers[0]!.call_creds).toEqual([]);
  });

  it('applies every supported entry and skips unknown types (unlike channel_creds)', () => {
    const b = parseBootstrap(
      server({
        call_creds: [
          { type: 'sts', config: { anything: 1 } },
          { type: 'jwt_token_file', config: { jwt_token_file: '/a' } },
          { type: 'jwt_token_file', config: { jwt_token_file: '/b' } },
        ],
      }),
    );
    expect(b.xds_servers[0]!.call_creds.map((c) => c.config.jwt_token_file)).toEqual(['/a', '/b']);
  });

  it('works under federation authorities too', () => {
    const b = parseBootstrap({
      ...server({}),
      authorities: { 'mesh.example': { xds_servers: [{ server_uri: 'td:443', channel_creds: [{ type: 'google_default' }], call_creds: [{ type: 'jwt_token_file', config: { jwt_token_file: '/t' } }] }] } },
    });
    expect(b.authorities['mesh.example']!.xds_servers[0]!.call_creds).toHaveLength(1);
  });

  it.each([
    ['not an array', { call_creds: { type: 'jwt_token_file' } }, 'xds_servers[0].call_creds', /expected an array/],
    ['entry not an object', { call_creds: ['jwt'] }, 'xds_servers[0].call_creds[0]', /expected an object/],
    ['no config', { call_creds: [{ type: 'jwt_token_file' }] }, 'xds_servers[0].call_creds[0].config', /jwt_token_file/],
    ['no jwt_token_file', { call_creds: [{ type: 'jwt_token_file', config: {} }] }, 'xds_servers[0].call_creds[0].config.jwt_token_file', /path of the JWT token file/],
    ['empty jwt_token_file', { call_creds: [{ type: 'jwt_token_file', config: { jwt_token_file: '' } }] }, 'xds_servers[0].call_creds[0].config.jwt_token_file', /must not be empty/],
    ['numeric jwt_token_file', { call_creds: [{ type: 'jwt_token_file', config: { jwt_token_file: 5 } }] }, 'xds_servers[0].call_creds[0].config.jwt_token_file', /got number 5/],
  ])('rejects %s with the field path', (_name, extra, fieldPath, reason) => {
    const e = bootstrapError(server(extra));
    expect(e.fieldPath).toBe(fieldPath);
    expect(e.message).toMatch(reason);
  });

  it('refuses a bearer token over insecure channel creds', () => {
    const e = bootstrapError({
      xds_servers: [{ server_uri: 'localhost:15010', channel_creds: [{ type: 'insecure' }], call_creds: [{ type: 'jwt_token_file', config: { jwt_token_file: TOKEN_PATH } }] }],
    });
    expect(e.fieldPath).toBe('xds_servers[0].call_creds');
    expect(e.message).toMatch(/"tls" or "google_default".*"insecure"/);
  });

  it('accepts tls channel creds with a client certificate (mTLS, gRFC A65)', () => {
    const b = parseBootstrap(server({ channel_creds: [{ type: 'tls', config: { ca_certificate_file: '/ca', certificate_file: '/c', private_key_file: '/k' } }] }));
    expect(b.xds_servers[0]!.channel_creds.config).toEqual({ ca_certificate_file: '/ca', certificate_file: '/c', private_key_file: '/k' });
  });
});

describe('JwtTokenFile (gRFC A97 JwtTokenFileCallCredentials)', () => {
  let n = 0;
  const file = (content?: string): string => {
    const path = join(dir, `token-${n++}`);
    if (content !== undefined) writeFileSync(path, content);
    return path;
  };
  const failure = async (p: Promise<unknown>): Promise<JwtTokenFileError> => {
    const e = await p.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(e).toBeInstanceOf(JwtTokenFileError);
    return e as JwtTokenFileError;
  };

  it('reads the token, trimming the trailing newline Kubernetes does not write but humans do', async () => {
    const jwt = istioToken();
    expect(await new JwtTokenFile(file(`${jwt}\n`)).token()).toBe(jwt);
  });

  it('re-reads the file when it changes (token rotation)', async () => {
    const path = file(istioToken(3600, 'first'));
    const creds = new JwtTokenFile(path);
    const first = await creds.token();
    expect(await creds.token()).toBe(first);
    const second = istioToken(7200, 'second');
    writeFileSync(path, second);
    expect(await creds.token()).toBe(second);
  });

  it('keeps a still-valid cached token when a refresh fails', async () => {
    const path = file(istioToken());
    const creds = new JwtTokenFile(path);
    const jwt = await creds.token();
    unlinkSync(path);
    expect(await creds.token()).toBe(jwt);
  });

  it('re-reads a token that expires within a minute, even if the file looks unchanged', async () => {
    let now = Date.now();
    const path = file(fakeJwt({ exp: Math.floor(now / 1000) + 120 }));
    const creds = new JwtTokenFile(path, { now: () => now });
    await creds.token();
    now += 45_000; // exp - 30 s margin - now < 60 s: time to refresh
    const fresh = fakeJwt({ exp: Math.floor(now / 1000) + 3600 });
    writeFileSync(path, fresh);
    expect(await creds.token()).toBe(fresh);
  });

  it('a missing file fails UNAVAILABLE, naming the file', async () => {
    const path = file();
    const e = await failure(new JwtTokenFile(path).token());
    expect(e.code).toBe(grpc.status.UNAVAILABLE);
    expect(e.message).toContain(path);
    expect(e.message).toContain('ENOENT');
  });

  it.each([
    ['empty', '', /is empty/],
    ['not a JWT', 'hello', /does not hold a JWT/],
    ['payload not JSON', 'a.b.c', /payload is not JSON/],
    ['no exp', fakeJwt({ sub: 'x' }), /without a numeric "exp"/],
  ])('%s fails UNAUTHENTICATED, naming the file', async (_name, content, reason) => {
    const path = file(content);
    const e = await failure(new JwtTokenFile(path).token());
    expect(e.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(e.message).toContain(path);
    expect(e.message).toMatch(reason);
  });

  it('an expired token fails without ever putting the token in the message', async () => {
    const jwt = fakeJwt({ exp: Math.floor(Date.now() / 1000) - 10 });
    const path = file(jwt);
    const e = await failure(new JwtTokenFile(path).token());
    expect(e.message).toMatch(/expired at/);
    expect(e.message).not.toContain(jwt.split('.')[1]!);
  });

  it('backs off after a failed read: a fixed file is used once the delay has passed', async () => {
    let now = Date.now();
    const path = file();
    const creds = new JwtTokenFile(path, { now: () => now, backoff: { initialMs: 1000, jitter: 0 } });
    await failure(creds.token());
    const jwt = istioToken();
    writeFileSync(path, jwt);
    const e = await failure(creds.token());
    expect(e.message).toContain('ENOENT'); // the last error, during backoff
    now += 1001;
    expect(await creds.token()).toBe(jwt);
  });

  it('concurrent RPC starts share one read', async () => {
    const jwt = istioToken();
    const creds = new JwtTokenFile(file(jwt));
    expect(await Promise.all([creds.token(), creds.token(), creds.token()])).toEqual([jwt, jwt, jwt]);
  });
});
