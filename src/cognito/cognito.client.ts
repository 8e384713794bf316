import {
  CognitoIdentityProviderClient,
  ListUsersCommand,
  type UserType,
} from '@aws-sdk/client-cognito-identity-provider';
import type { AppConfig } from '../config/config.js';

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
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

export interface CognitoUser {
  username: string;
  sub: string;
  /** `preferred_username` (the Cruddur handle), else the username. */
  handle: string;
  email?: string;
}

/** Every user of a pool (all pages of ListUsers). */
export async function listAllCognitoUsers(client: CognitoIdentityProviderClient, userPoolId: string): Promise<CognitoUser[]> {
  const users: CognitoUser[] = [];
  let PaginationToken: string | undefined;
  do {
    const page = await client.send(new ListUsersCommand({ UserPoolId: userPoolId, PaginationToken, Limit: 60 }));
    users.push(...(page.Users ?? []).map(toCognitoUser));
    PaginationToken = page.PaginationToken;
  } while (PaginationToken);
  return users;
}

function toCognitoUser(user: UserType): CognitoUser {
  const attr = (name: string) => user.Attributes?.find((a) => a.Name === name)?.Value;
  const username = user.Username ?? '';
  return { username, sub: attr('sub') ?? username, handle: attr('preferred_username') ?? username, email: attr('email') };
}
