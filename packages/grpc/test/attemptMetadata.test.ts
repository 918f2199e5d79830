import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { AttemptMetadata } from '../src/AttemptMetadata.js';

/**
 * AttemptMetadata on real grpc-js Metadata: whatever an attempt writes (set, add, remove, any letter
 * case), end() gives the caller's object back with the same keys and values, and the value arrays the
 * caller already held are never written. The end-to-end behaviour (a retried call over a real server)
 * is in telemetry-grpc.test.ts.
 */
function callerMetadata(): Metadata {
  const md = new Metadata();
  md.set('x-tenant', 'a');
  md.add('x-tenant', 'b');
  md.set('x-keep', 'k');
  md.set('ctx-bin', Buffer.from([1, 2]));
  return md;
}

describe('AttemptMetadata', () => {
  it('end() restores added, appended, overwritten and removed keys, and leaves the arrays the caller held untouched', () => {
    const md = callerMetadata();
    const before = md.toJSON();
    const tenant = md.get('x-tenant');
    const writes = new AttemptMetadata();
    expect(writes.begin(md)).toBe(true);

    writes.add('X-Tenant', 'mesh');
    writes.set('x-request-id', 'id-1');
    writes.set('x-keep', 'overwritten');
    writes.remove('ctx-bin');
    writes.set('x-request-id', 'id-2'); // a second write to a key keeps the first saved state
    // What grpc-js would copy at start: the attempt's metadata.
    expect(md.clone().toJSON()).toEqual({ 'x-tenant': ['a', 'b', 'mesh'], 'x-keep': ['overwritten'], 'x-request-id': ['id-2'] });

    writes.end();
    expect(md.toJSON()).toEqual(before);
    expect(tenant).toEqual(['a', 'b']);
  });

  it('reads see the attempt so far, and a second begin() before end() is refused (the caller then copies)', () => {
    const md = callerMetadata();
    const other = new Metadata();
    const writes = new AttemptMetadata();
    expect(writes.begin(md)).toBe(true);
    writes.set('x-request-id', 'id-1');
    expect(writes.get('x-request-id')).toEqual(['id-1']);
    expect(writes.begin(other)).toBe(false);
    writes.end();
    expect(md.get('x-request-id')).toEqual([]);

    // Free again once ended, for the next attempt, which starts from the caller's values.
    expect(writes.begin(md)).toBe(true);
    expect(writes.get('x-request-id')).toEqual([]);
    writes.add('x-tenant', 'mesh');
    expect(md.get('x-tenant')).toEqual(['a', 'b', 'mesh']);
    writes.end();
    expect(md.get('x-tenant')).toEqual(['a', 'b']);
    expect(other.toJSON()).toEqual({});
  });

  it('a key read and then written (as x-request-id is) is restored as read, whatever came between', () => {
    const md = callerMetadata();
    const before = md.toJSON();
    const tenant = md.get('x-tenant');
    const writes = new AttemptMetadata();
    expect(writes.begin(md)).toBe(true);
    expect(writes.get('X-Tenant')).toEqual(['a', 'b']);
    writes.add('X-Tenant', 'mesh'); // what get() returned is the caller's array: it must not grow
    expect(tenant).toEqual(['a', 'b']);
    expect(writes.get('x-request-id')).toEqual([]);
    writes.set('x-keep', 'other'); // a write to another key between the read and the write
    writes.set('x-request-id', 'id-1');
    expect(writes.get('x-keep')).toEqual(['other']);
    writes.remove('x-keep');
    writes.set('x-keep', 'again');
    expect(md.clone().toJSON()).toEqual({ 'x-tenant': ['a', 'b', 'mesh'], 'x-keep': ['again'], 'ctx-bin': [Buffer.from([1, 2])], 'x-request-id': ['id-1'] });
    writes.end();
    expect(md.toJSON()).toEqual(before);

    // A read in one attempt is not taken for the next one's.
    expect(writes.begin(md)).toBe(true);
    writes.set('x-request-id', 'id-2');
    writes.end();
    expect(md.toJSON()).toEqual(before);
  });
});
