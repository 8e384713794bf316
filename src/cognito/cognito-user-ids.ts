import type { UsersService } from '../users/users.service.js';
import { subsByHandle, type CognitoUser } from './cognito.client.js';

export interface CognitoUserIdsUpdate {
  /** Handles whose `cognito_user_id` was set now, with the sub. */
  updated: Record<string, string>;
  /** Handles that already had their sub. */
  unchanged: string[];
  /** Cognito users whose handle (preferred_username) is not in Postgres. */
  notInDatabase: string[];
}

/** Sets `users.cognito_user_id` to the Cognito `sub`, matching Cognito's preferred_username to the handle. */
export async function updateCognitoUserIds(cognitoUsers: CognitoUser[], users: UsersService): Promise<CognitoUserIdsUpdate> {
  const subs = subsByHandle(cognitoUsers);
  const { updated, unchanged } = await users.updateCognitoUserIds(subs);
  const found = new Set([...updated, ...unchanged]);
  return {
    updated: Object.fromEntries(updated.map((handle) => [handle, subs[handle]])),
    unchanged,
    notInDatabase: Object.keys(subs).filter((handle) => !found.has(handle)),
  };
}

/** One line per handle, for the scripts. */
export function describeCognitoUserIdsUpdate(update: CognitoUserIdsUpdate): string[] {
  const lines = Object.entries(update.updated).map(([handle, sub]) => `updated ${handle}: cognito_user_id = ${sub}`);
  if (update.unchanged.length) lines.push(`already set: ${update.unchanged.join(', ')}`);
  if (update.notInDatabase.length) lines.push(`not in Postgres (skipped): ${update.notInDatabase.join(', ')}`);
  if (lines.length === 0) lines.push('no Cognito users: nothing to update');
  return lines;
}
