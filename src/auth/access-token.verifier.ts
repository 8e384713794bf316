import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { LRUCache } from 'lru-cache';
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { Fetcher } from 'aws-jwt-verify/https';
import { ConfigError, type AppConfig } from '../config/config.js';

/** A verified access token: its subject and its expiry (seconds since the epoch). */
export interface VerifiedToken {
  sub: string;
  exp: number;
}

/** Verifies a Cognito access token and returns its subject; rejects (throws) anything else. */
export interface AccessTokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

export const ACCESS_TOKEN_VERIFIER = Symbol('ACCESS_TOKEN_VERIFIER');

/**
 * Against AWS: `CognitoJwtVerifier` (pool, client, token use `access`). Against the Cognito
 * emulator (only in `local`/`test` configuration, since the emulator's signing key is public): a
 * `JwtVerifier` for the emulator's issuer and JWKS plus the same Cognito claim checks. Both cache
 * the JWKS once fetched.
 */
export function createAccessTokenVerifier(config: Pick<AppConfig, 'appEnv' | 'cognito'>): AccessTokenVerifier {
  const { userPoolId, clientId, endpoint, issuer } = config.cognito;
  if (!userPoolId || !clientId) {
    throw new ConfigError('Invalid configuration: AWS_COGNITO_USER_POOL_ID and AWS_COGNITO_USER_POOL_CLIENT_ID are required');
  }
  if (config.appEnv === 'aws' || !endpoint) {
    const verifier = CognitoJwtVerifier.create({ userPoolId, clientId, tokenUse: 'access' });
    return rememberVerified({ verify: async (token) => verified(await verifier.verify(token)) });
  }
  const emulatorIssuer = issuer ?? `${endpoint.replace(/\/$/, '')}/${userPoolId}`;
  const verifier = JwtVerifier.create(
    {
      issuer: emulatorIssuer,
      audience: null,
      jwksUri: `${endpoint.replace(/\/$/, '')}/${userPoolId}/.well-known/jwks.json`,
      customJwtCheck: ({ payload }) => validateCognitoJwtFields(payload, { tokenUse: 'access', clientId }),
    },
    { jwksCache: new SimpleJwksCache({ fetcher: plainHttpFetcher }) },
  );
  return rememberVerified({ verify: async (token) => verified(await verifier.verify(token)) });
}

function verified(payload: { sub?: unknown; exp?: unknown }): VerifiedToken {
  return { sub: String(payload.sub), exp: Number(payload.exp) };
}

/**
 * Remembers verified tokens until they expire, so a client's steady stream of requests with one
 * token costs one signature check, not one per request. A token is immutable and its verification
 * is stateless (a JWT check never asked Cognito whether it was revoked), so the answer cannot change
 * before `exp`; past `exp` the token is verified again, and fails as expired. Failures are not
 * remembered (a bad token costs a check each time, as before).
 */
export function rememberVerified(inner: AccessTokenVerifier, now: () => number = Date.now, max = 10_000): AccessTokenVerifier {
  const verifiedTokens = new LRUCache<string, VerifiedToken>({ max });
  return {
    async verify(token) {
      const cached = verifiedTokens.get(token);
      if (cached && cached.exp * 1000 > now()) return cached;
      if (cached) verifiedTokens.delete(token);
      const result = await inner.verify(token);
      if (Number.isFinite(result.exp)) verifiedTokens.set(token, result);
      return result;
    },
  };
}

/** aws-jwt-verify's own fetcher speaks HTTPS only; the emulator serves its JWKS over plain HTTP. */
const plainHttpFetcher: Fetcher = {
  async fetch(uri) {
    const response = await fetch(uri, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) throw new Error(`JWKS fetch failed: ${response.status}`);
    return response.arrayBuffer();
  },
};
