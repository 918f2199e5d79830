import { describe, expect, it } from 'vitest';
import { AttemptHeaderList } from '../src/AttemptHeaderList.js';
import { RequestHeaders } from '../src/RequestHeaders.js';

/** An attempt's list over `headers` with `room` slots for the mesh's own, as MeshCall.startAttempt makes it. */
function listOf(headers: Record<string, string>, room: number): AttemptHeaderList {
  const request = new RequestHeaders(headers);
  return new AttemptHeaderList(request.toFlat(room), 2 * request.size);
}

describe('AttemptHeaderList', () => {
  it('fills the room left for the mesh headers and hands undici a list without holes', () => {
    const h = listOf({ 'X-Caller': 'a', accept: 'text/plain' }, 6);
    h.set('x-request-id', 'id-1');
    h.set('host', 'reviews:9080');
    const flat = h.done();
    expect(flat).toEqual(['x-caller', 'a', 'accept', 'text/plain', 'x-request-id', 'id-1', 'host', 'reviews:9080']);
    expect(flat.length).toBe(8);
    expect(Object.keys(flat)).toHaveLength(8);
  });

  it('goes past the room when more headers are added than it holds', () => {
    const h = listOf({}, 2);
    h.set('host', 'a');
    h.set('x-one', '1');
    h.append('x-two', '2');
    h.append('x-two', '3');
    expect(h.done()).toEqual(['host', 'a', 'x-one', '1', 'x-two', '2,3']);
  });

  it('replaces, finds and deletes only within the headers written, never in the room', () => {
    const h = listOf({ host: 'caller', 'x-drop': 'd', 'x-keep': 'k', 'x-gone': 'g' }, 4);
    h.delete('X-Drop');
    h.delete('x-gone');
    // The deletes left copies of moved entries after the headers in use: they are not headers.
    expect(h.has('x-drop')).toBe(false);
    expect(h.has('x-gone')).toBe(false);
    h.set('host', 'mesh');
    h.set('x-request-id', 'id');
    expect(h.get('Host')).toBe('mesh');
    h.delete('x-request-id');
    h.set('x-late', 'l');
    expect(h.done()).toEqual(['host', 'mesh', 'x-keep', 'k', 'x-late', 'l']);
  });

  it('over() hands the same list to the next attempt once done(), and the array it gave undici stays as it was', () => {
    const first = AttemptHeaderList.over(['a', '1', , ,] as string[], 2);
    first.set('host', 'h1');
    const flat1 = first.done();
    const second = AttemptHeaderList.over(['b', '2', , ,] as string[], 2);
    expect(second).toBe(first);
    second.set('host', 'h2');
    // A list taken and not yet done is not handed out again.
    const third = AttemptHeaderList.over(['c', '3'], 2);
    expect(third).not.toBe(second);
    expect(second.done()).toEqual(['b', '2', 'host', 'h2']);
    expect(third.done()).toEqual(['c', '3']);
    expect(flat1).toEqual(['a', '1', 'host', 'h1']);
    // A write after done() would go into a frozen array: it throws instead of editing another attempt's list.
    expect(() => third.set('x-late', 'l')).toThrow(TypeError);
  });

  it('a request without headers shares one frozen RequestHeaders (nothing writes to a call\'s headers)', () => {
    const none = RequestHeaders.of(undefined);
    expect(RequestHeaders.of(null)).toBe(none);
    expect(Object.isFrozen(none)).toBe(true);
    expect(none.size).toBe(0);
    expect(none.get('host')).toBeUndefined();
    expect(none.toFlat(2)).toHaveLength(2);
    expect(() => none.set('x', 'y')).toThrow(TypeError);
    expect(RequestHeaders.of({ Host: 'h' }).get('host')).toBe('h');
  });
});
