import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { Fetcher } from 'aws-jwt-verify/https';
import { ConfigError, type AppConfig } from '../config/config.js';

/** Verifies a Cognito access token and returns its subject; rejects (throws) anything else. */
export interface AccessTokenVerifier {
  verify(token: string): Promise<{ sub: string }>;
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
    return { verify: async (token) => ({ sub: (await verifier.verify(token)).sub }) };
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
  return { verify: async (token) => ({ sub: String((await verifier.verify(token)).sub) }) };
}

/** aws-jwt-verify's own fetcher speaks HTTPS only; the emulator serves its JWKS over plain HTTP. */
const plainHttpFetcher: Fetcher = {
  async fetch(uri) {
    const response = await fetch(uri, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) throw new Error(`JWKS fetch failed: ${response.status}`);
    return response.arrayBuffer();
  },
};
