import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { DEMO_PASSWORD, DEMO_USERS } from '../seed/demo-users.js';
import { ensureCognitoUser, ensureUserPool, ensureUserPoolClient, signInWithPassword, type CognitoUser } from './cognito.client.js';

/** Names of the pool and app client that the local stack creates in the Cognito emulator. */
export const LOCAL_USER_POOL_NAME = 'cruddur-local';
export const LOCAL_USER_POOL_CLIENT_NAME = 'cruddur-messaging-local';

export interface LocalCognito {
  userPoolId: string;
  clientId: string;
  /** The demo users, in DEMO_USERS order. */
  users: CognitoUser[];
  /** What this call created (empty when everything was there already). */
  created: string[];
}

/**
 * The pool, its app client and the demo users (password DEMO_PASSWORD, permanent) in a Cognito
 * emulator, each created only when missing: a second run reuses them. Tests that change a pool's
 * users pass a pool name of their own.
 */
export async function prepareLocalCognito(client: CognitoIdentityProviderClient, poolName = LOCAL_USER_POOL_NAME): Promise<LocalCognito> {
  const created: string[] = [];
  const pool = await ensureUserPool(client, poolName);
  if (pool.created) created.push(`user pool ${poolName}`);
  const appClient = await ensureUserPoolClient(client, pool.id, LOCAL_USER_POOL_CLIENT_NAME);
  if (appClient.created) created.push(`app client ${LOCAL_USER_POOL_CLIENT_NAME}`);
  const users: CognitoUser[] = [];
  for (const demo of DEMO_USERS) {
    const { user, created: isNew } = await ensureCognitoUser(client, pool.id, {
      username: demo.email,
      password: DEMO_PASSWORD,
      attributes: { preferred_username: demo.handle, name: demo.display_name, email: demo.email, email_verified: 'true' },
    });
    if (isNew) created.push(`user ${demo.handle}`);
    users.push(user);
  }
  return { userPoolId: pool.id, clientId: appClient.id, users, created };
}

/** A demo user's Cognito access token (sign-in with the user's email and DEMO_PASSWORD). */
export async function demoUserAccessToken(client: CognitoIdentityProviderClient, clientId: string, handle: string): Promise<string> {
  const demo = DEMO_USERS.find((u) => u.handle === handle);
  if (!demo) {
    throw new Error(`unknown demo user ${JSON.stringify(handle)} (demo users: ${DEMO_USERS.map((u) => u.handle).join(', ')})`);
  }
  return (await signInWithPassword(client, clientId, demo.email, DEMO_PASSWORD)).accessToken;
}
