import { describe, expect, it } from 'vitest';
import { targetOf } from '../src/targetOf.js';

describe('targetOf', () => {
  it('names the listener host:port (port from the scheme by default) and the :authority Envoy would see', () => {
    expect(targetOf('http://reviews')).toMatchObject({ target: 'reviews:80', authority: 'reviews', port: 80, secure: false });
    expect(targetOf('http://reviews.default.svc.cluster.local:9080')).toMatchObject({ target: 'reviews.default.svc.cluster.local:9080', authority: 'reviews.default.svc.cluster.local:9080' });
    expect(targetOf('https://ratings:443')).toMatchObject({ target: 'ratings:443', authority: 'ratings', secure: true });
    expect(targetOf('https://ratings:8443')).toMatchObject({ target: 'ratings:8443', authority: 'ratings:8443' });
    expect(targetOf('HTTP://Reviews.Default:8080')).toMatchObject({ target: 'reviews.default:8080', authority: 'reviews.default:8080' });
    expect(targetOf(new URL('http://[::1]:9080'))).toMatchObject({ target: '[::1]:9080', authority: '[::1]:9080' });
  });

  it('returns undefined for origins that cannot name a mesh target, and the same object for the same origin', () => {
    expect(targetOf('ftp://files:21')).toBeUndefined();
    expect(targetOf('not a url')).toBeUndefined();
    expect(targetOf(undefined)).toBeUndefined();
    expect(targetOf('http://reviews:9080')).toBe(targetOf('http://reviews:9080'));
  });

  it('answers each origin with its own target when origins alternate (the last lookup is remembered, not reused for another origin)', () => {
    const origins = ['http://a.example:1', 'not a url', 'http://b.example:2', `http://${'a'}.example:1`, 'ftp://files:21', 'https://b.example:2'];
    for (let round = 0; round < 3; round++) {
      expect(targetOf(origins[0])?.target).toBe('a.example:1');
      expect(targetOf(origins[1])).toBeUndefined();
      expect(targetOf(origins[2])?.target).toBe('b.example:2');
      expect(targetOf(origins[2])?.secure).toBe(false);
      expect(targetOf(origins[3])?.target).toBe('a.example:1');
      expect(targetOf(origins[4])).toBeUndefined();
      expect(targetOf(origins[5])).toMatchObject({ target: 'b.example:2', secure: true });
    }
  });
});
