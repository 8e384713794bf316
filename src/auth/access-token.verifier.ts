import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import { FetchError, JwksNotAvailableInCacheError, JwksValidationError, JwkValidationError } from 'aws-jwt-verify/error';
import { SimpleFetcher, type Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { LRUCache } from 'lru-cache';
import { TIMEOUTS } from '../common/timeouts.js';
import { ConfigError, emulatorPoolUrl, type AppConfig } from '../config/config.js';

/** A verified access token: its subject and its expiry (seconds since the epoch). */
export interface VerifiedToken {
  sub: string;
  exp: number;
}

/**
 * The verifier could not decide: the pool's signing keys (JWKS) cannot be fetched or make no sense.
 * Not the token's fault, so not a 401 (clients sign their users out on 401): the API answers 503.
 */
export class SigningKeysUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the identity provider's signing keys are unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'SigningKeysUnavailableError';
  }
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
  const verifier =
    config.appEnv === 'aws' || !endpoint ? cognitoVerifier(userPoolId, clientId) : emulatorVerifier(userPoolId, clientId, endpoint, issuer);
  return rememberVerified({
    async verify(token) {
      try {
        return verified(await verifier.verify(token));
      } catch (error) {
        throw isKeysUnavailable(error) ? new SigningKeysUnavailableError(error) : error;
      }
    },
  });
}

function isKeysUnavailable(error: unknown): boolean {
  return [FetchError, JwksValidationError, JwkValidationError, JwksNotAvailableInCacheError].some((type) => error instanceof type);
}

function cognitoVerifier(userPoolId: string, clientId: string): { verify(token: string): Promise<object> } {
  const fetcher = new SimpleFetcher({ defaultRequestOptions: { responseTimeout: TIMEOUTS.cognito.jwksMs } });
  return CognitoJwtVerifier.create({ userPoolId, clientId, tokenUse: 'access' }, { jwksCache: new SimpleJwksCache({ fetcher }) });
}

function emulatorVerifier(
  userPoolId: string,
  clientId: string,
  endpoint: string,
  issuer?: string,
): { verify(token: string): Promise<object> } {
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

/** The token's subject and expiry; a token without both is refused (one without `exp` would never expire). */
function verified(payload: object): VerifiedToken {
  const { sub, exp } = payload as { sub?: unknown; exp?: unknown };
  if (typeof sub !== 'string' || sub === '') throw new Error('the token has no sub claim');
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new Error('the token has no exp claim');
  return { sub, exp };
}

/**
 * Remembers verified tokens until they expire, so a client's steady stream of requests with one
 * token costs one signature check, not one per request. A token is immutable and its verification
 * is stateless (a JWT check never asked Cognito whether it was revoked), so the answer cannot change
 * before `exp`; past `exp` the token is verified again, and fails as expired. Failures are not
 * remembered (a bad token costs a check each time, as before).
 */
export function rememberVerified(
  inner: AccessTokenVerifier,
  now: () => number = Date.now,
  maxBytes = 16 * 1024 * 1024,
): AccessTokenVerifier {
  // Bounded by the bytes the tokens take (about 1 KB each from Cognito), not by their count.
  const verifiedTokens = new LRUCache<string, VerifiedToken>({
    maxSize: maxBytes,
    sizeCalculation: (value, token) => token.length + value.sub.length + 64,
  });
  return {
    async verify(token) {
      const cached = verifiedTokens.get(token);
      if (cached && cached.exp * 1000 > now()) return cached;
      if (cached) verifiedTokens.delete(token);
      const result = await inner.verify(token);
      verifiedTokens.set(token, result);
      return result;
    },
  };
}

/** aws-jwt-verify's own fetcher speaks HTTPS only; the emulator serves its JWKS over plain HTTP. */
const plainHttpFetcher: Fetcher = {
  async fetch(uri) {
    try {
      const response = await fetch(uri, { signal: AbortSignal.timeout(TIMEOUTS.cognito.jwksMs) });
      if (!response.ok) throw new Error(`status ${response.status}`);
      return await response.arrayBuffer();
    } catch (error) {
      throw new FetchError(uri, error instanceof Error ? error.message : String(error));
    }
  },
};
