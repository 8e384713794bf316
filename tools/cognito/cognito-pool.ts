import { ConfigError, type AppConfig } from '../../src/config/config.js';
import { createCognitoClient, listAllCognitoUsers, type CognitoUser } from './cognito.client.js';

/** The configured user pool id for a script; a clear one-line error when none is configured. */
export function requireUserPoolId(config: Pick<AppConfig, 'cognito'>): string {
  if (!config.cognito.userPoolId) {
    throw new ConfigError('no Cognito user pool configured: set AWS_COGNITO_USER_POOL_ID, or start the local stack (npm run local)');
  }
  return config.cognito.userPoolId;
}

/** Every user of the configured pool (all pages), for the scripts: one client, closed afterwards. */
export async function listPoolUsers(config: Pick<AppConfig, 'aws' | 'cognito'>): Promise<CognitoUser[]> {
  const userPoolId = requireUserPoolId(config);
  const client = createCognitoClient(config);
  try {
    return await listAllCognitoUsers(client, userPoolId);
  } finally {
    client.destroy();
  }
}
