/** An unsigned-looking compact JWS with the given claims: the client reads `exp` only, never verifies. */
export function fakeJwt(claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('not-a-real-signature').toString('base64url')}`;
}

/** A token like the projected istio-token: audience istio-ca, expiring `inSeconds` from now. */
export function istioToken(inSeconds = 3600, sub = 'system:serviceaccount:default:app'): string {
  return fakeJwt({ aud: ['istio-ca'], sub, iss: 'https://kubernetes.default.svc.cluster.local', exp: Math.floor(Date.now() / 1000) + inSeconds });
}
