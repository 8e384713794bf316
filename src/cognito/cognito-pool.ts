import { ConfigError, type AppConfig } from '../config/config.js';

/** The configured user pool id for a script; a clear one-line error when none is configured. */
export function requireUserPoolId(config: Pick<AppConfig, 'cognito'>): string {
  if (!config.cognito.userPoolId) {
    throw new ConfigError('no Cognito user pool configured: set AWS_COGNITO_USER_POOL_ID, or start the local stack (npm run local)');
  }
  return config.cognito.userPoolId;
}
