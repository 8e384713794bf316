import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { LRUCache } from 'lru-cache';
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { Fetcher } from 'aws-jwt-verify/https';
import { ConfigError, emulatorPoolUrl, type AppConfig } from '../config/config.js';

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
  const verifier = config.appEnv === 'aws' || !endpoint ? cognitoVerifier(userPoolId, clientId) : emulatorVerifier(userPoolId, clientId, endpoint, issuer);
  return rememberVerified({ verify: async (token) => verified(await verifier.verify(token)) });
}

function cognitoVerifier(userPoolId: string, clientId: string): { verify(token: string): Promise<object> } {
  return CognitoJwtVerifier.create({ userPoolId, clientId, tokenUse: 'access' });
}

function emulatorVerifier(userPoolId: string, clientId: string, endpoint: string, issuer?: string): { verify(token: string): Promise<object> } {
  const poolUrl = emulatorPoolUrl(endpoint, userPoolId);
  return JwtVerifier.create(
    {
      issuer: issuer ?? poolUrl,
      audience: null,
      jwksUri: `${poolUrl}/.well-known/jwks.json`,
      customJwtCheck: ({ payload }) => validateCognitoJwtFields(payload, { tokenUse: 'access', clientId }),
    },
    { jwksCache: new SimpleJwksCache({ fetcher: plainHttpFetcher }) },
  );
}

function verified(payload: object): VerifiedToken {
  const { sub, exp } = payload as { sub?: unknown; exp?: unknown };
  return { sub: String(sub), exp: Number(exp) };
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
