import type { DataSource } from 'typeorm';
import type { CognitoUser } from '../cognito/cognito.client.js';
import { updateCognitoUserIds, type CognitoUserIdsUpdate } from '../cognito/cognito-user-ids.js';
import { User } from '../../src/users/user.entity.js';
import { UsersService } from '../../src/users/users.service.js';
import { seedDemoUsers } from './demo-users.seed.js';

export interface UsersDatabaseSetup {
  /** Names of the migrations run now (none when the schema was up to date). */
  migrations: string[];
  demoUsers: User[];
  cognitoIds: CognitoUserIdsUpdate;
}

/**
 * `db:setup`'s sequence, also run by the local stack: pending migrations, the demo users, then each
 * user's `cognito_user_id` from the pool's accounts (by verified email; `poolUsers` is every user
 * of the pool). Safe to run again: it changes only what is missing, and refuses what is ambiguous.
 */
export async function setUpUsersDatabase(dataSource: DataSource, poolUsers: CognitoUser[]): Promise<UsersDatabaseSetup> {
  const migrations = (await dataSource.runMigrations({ transaction: 'all' })).map((m) => m.name);
  const users = new UsersService(dataSource.getRepository(User));
  const demoUsers = await seedDemoUsers(users);
  return { migrations, demoUsers, cognitoIds: await updateCognitoUserIds(poolUsers, users) };
}
