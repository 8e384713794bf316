import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  InitiateAuthCommand,
  ListUserPoolClientsCommand,
  ListUserPoolsCommand,
  ListUsersCommand,
  type AttributeType,
  type UserType,
} from '@aws-sdk/client-cognito-identity-provider';
import { TIMEOUTS } from '../../src/common/timeouts.js';
import type { AppConfig } from '../../src/config/config.js';

/**
 * The Cognito admin client. Its endpoint comes from `COGNITO_ENDPOINT` (or AWS's default) and
 * never from `AWS_ENDPOINT_URL`, which the SDK would otherwise apply to every client.
 */
export function createCognitoClient(config: Pick<AppConfig, 'aws' | 'cognito'>): CognitoIdentityProviderClient {
  const local = config.cognito.endpoint !== undefined;
  return new CognitoIdentityProviderClient({
    region: config.aws.region,
    // An explicit endpoint either way: AWS's own when none is configured, so AWS_ENDPOINT_URL is ignored.
    endpoint: config.cognito.endpoint ?? `https://cognito-idp.${config.aws.region}.amazonaws.com`,
    maxAttempts: local ? 2 : 3,
    requestHandler: {
      connectionTimeout: TIMEOUTS.cognito.connectMs,
      requestTimeout: TIMEOUTS.cognito.requestMs,
      throwOnRequestTimeout: true,
    },
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

export interface CognitoUser {
  username: string;
  sub: string;
  /**
   * `preferred_username`, else the username. Only for display: any user can change their
   * preferred_username with their own access token, and two users can have the same one.
   */
  handle: string;
  email?: string;
  /** Cognito verified the email (a code sent to it came back), or an administrator said so. */
  emailVerified: boolean;
  /** `CONFIRMED`, `UNCONFIRMED`, `FORCE_CHANGE_PASSWORD`, … */
  status?: string;
}

/** Every user of a pool (all pages of ListUsers). */
export async function listAllCognitoUsers(client: CognitoIdentityProviderClient, userPoolId: string): Promise<CognitoUser[]> {
  const users: CognitoUser[] = [];
  let PaginationToken: string | undefined;
  do {
    const page = await client.send(new ListUsersCommand({ UserPoolId: userPoolId, PaginationToken, Limit: 60 }));
    users.push(...(page.Users ?? []).map((u) => toCognitoUser(u.Username, u.Attributes, u.UserStatus)));
    PaginationToken = page.PaginationToken;
  } while (PaginationToken);
  return users;
}

/** `{handle: sub}` of the given users (a handle shared by several users shows the last one). */
export function subsByHandle(users: CognitoUser[]): Record<string, string> {
  return Object.fromEntries(users.map((u) => [u.handle, u.sub]));
}

function toCognitoUser(username: string | undefined, attributes: AttributeType[] | undefined, status: string | undefined): CognitoUser {
  const attr = (name: string) => attributes?.find((a) => a.Name === name)?.Value;
  const name = username ?? '';
  return {
    username: name,
    sub: attr('sub') ?? name,
    handle: attr('preferred_username') ?? name,
    email: attr('email'),
    emailVerified: attr('email_verified') === 'true',
    status,
  };
}

export interface Ensured {
  id: string;
  created: boolean;
}

/** The user pool named `name` (searched through all pages of ListUserPools), created when missing. */
export async function ensureUserPool(client: CognitoIdentityProviderClient, name: string): Promise<Ensured> {
  let NextToken: string | undefined;
  do {
    const page = await client.send(new ListUserPoolsCommand({ MaxResults: 60, NextToken }));
    const pool = page.UserPools?.find((p) => p.Name === name);
    if (pool?.Id) return { id: pool.Id, created: false };
    NextToken = page.NextToken;
  } while (NextToken);
  const { UserPool } = await client.send(
    // Like Cruddur's pool: users sign in with their email; the handle is `preferred_username`.
    new CreateUserPoolCommand({
      PoolName: name,
      UsernameAttributes: ['email'],
      AutoVerifiedAttributes: ['email'],
      MfaConfiguration: 'OFF',
    }),
  );
  if (!UserPool?.Id) throw new Error(`CreateUserPool ${name} returned no pool id`);
  return { id: UserPool.Id, created: true };
}

/** The pool's app client named `name`, created when missing, for password sign-in without a secret. */
export async function ensureUserPoolClient(client: CognitoIdentityProviderClient, userPoolId: string, name: string): Promise<Ensured> {
  let NextToken: string | undefined;
  do {
    const page = await client.send(new ListUserPoolClientsCommand({ UserPoolId: userPoolId, MaxResults: 60, NextToken }));
    const appClient = page.UserPoolClients?.find((c) => c.ClientName === name);
    if (appClient?.ClientId) return { id: appClient.ClientId, created: false };
    NextToken = page.NextToken;
  } while (NextToken);
  const { UserPoolClient } = await client.send(
    new CreateUserPoolClientCommand({
      UserPoolId: userPoolId,
      ClientName: name,
      GenerateSecret: false,
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    }),
  );
  if (!UserPoolClient?.ClientId) throw new Error(`CreateUserPoolClient ${name} returned no client id`);
  return { id: UserPoolClient.ClientId, created: true };
}

export interface NewCognitoUser {
  /** What the user signs in with (the email in a pool with email as username attribute). */
  username: string;
  /** Set as permanent: the user can sign in at once, without a new-password challenge. */
  password: string;
  attributes: Record<string, string>;
}

/**
 * The user `username`, created (no welcome message) when missing. Its password is made permanent
 * when it is created or still waits for a change, so an interrupted earlier run is completed.
 */
export async function ensureCognitoUser(
  client: CognitoIdentityProviderClient,
  userPoolId: string,
  input: NewCognitoUser,
): Promise<{ user: CognitoUser; created: boolean }> {
  let existing: { username?: string; attributes?: AttributeType[]; status?: string } | undefined;
  try {
    const found = await client.send(new AdminGetUserCommand({ UserPoolId: userPoolId, Username: input.username }));
    existing = { username: found.Username, attributes: found.UserAttributes, status: found.UserStatus };
  } catch (error) {
    if (!(error instanceof Error && error.name === 'UserNotFoundException')) throw error;
  }
  let { username, attributes } = existing ?? {};
  if (!existing) {
    const { User } = await client.send(
      new AdminCreateUserCommand({
        UserPoolId: userPoolId,
        Username: input.username,
        MessageAction: 'SUPPRESS',
        UserAttributes: Object.entries(input.attributes).map(([Name, Value]) => ({ Name, Value })),
      }),
    );
    ({ Username: username, Attributes: attributes } = User ?? ({} satisfies UserType));
  }
  if (existing?.status !== 'CONFIRMED') {
    await client.send(
      new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: input.username, Password: input.password, Permanent: true }),
    );
  }
  // Either it was confirmed already or its password was just made permanent, which confirms it.
  return { user: toCognitoUser(username ?? input.username, attributes, 'CONFIRMED'), created: !existing };
}

export interface CognitoTokens {
  accessToken: string;
  idToken: string;
  refreshToken?: string;
}

/** Signs a user in with username and password (USER_PASSWORD_AUTH); the client must allow that flow. */
export async function signInWithPassword(
  client: CognitoIdentityProviderClient,
  clientId: string,
  username: string,
  password: string,
): Promise<CognitoTokens> {
  const result = await client.send(
    new InitiateAuthCommand({
      AuthFlow: 'USER_PASSWORD_AUTH',
      ClientId: clientId,
      AuthParameters: { USERNAME: username, PASSWORD: password },
    }),
  );
  const tokens = result.AuthenticationResult;
  if (!tokens?.AccessToken || !tokens.IdToken) {
    throw new Error(`sign-in of ${username} needs more than a password (challenge ${result.ChallengeName ?? 'unknown'})`);
  }
  return { accessToken: tokens.AccessToken, idToken: tokens.IdToken, refreshToken: tokens.RefreshToken };
}
