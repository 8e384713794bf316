import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCognitoClient } from '../../tools/cognito/cognito.client.js';
import { demoUserAccessToken, prepareLocalCognito, type LocalCognito } from '../../tools/cognito/cognito-demo-users.js';
import { startCognitoEmulator } from '../../tools/local-stack/cognito-emulator.js';

/** A private temporary directory, readable by the `postgres` system user (embedded Postgres as root). */
export function makeTempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface DemoCognito extends LocalCognito {
  endpoint: string;
  client: CognitoIdentityProviderClient;
  /** `{handle: sub}` of the demo users. */
  subs: Record<string, string>;
  accessToken(handle: string): Promise<string>;
  stop(): Promise<void>;
}

/** cognito-local on a free port in its own temporary directory, with the local pool, app client and demo users. */
export async function startDemoCognito(): Promise<DemoCognito> {
  const dir = makeTempDir('cruddur-cognito-');
  const emulator = await startCognitoEmulator({ dir: dir.path, port: 0 });
  const client = createCognitoClient({ aws: { region: 'us-east-1' }, cognito: { endpoint: emulator.endpoint } });
  const stop = async () => {
    client.destroy();
    await emulator.stop();
    dir.remove();
  };
  try {
    const local = await prepareLocalCognito(client);
    return {
      ...local,
      endpoint: emulator.endpoint,
      client,
      subs: Object.fromEntries(local.users.map((u) => [u.handle, u.sub])),
      accessToken: (handle) => demoUserAccessToken(client, local.clientId, handle),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
