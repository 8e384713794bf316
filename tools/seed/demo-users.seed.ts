import { DEMO_USERS } from './demo-users.js';
import type { User } from '../../src/users/user.entity.js';
import type { UsersService } from '../../src/users/users.service.js';

/** Inserts the demo users that are missing (by handle); returns all of them, in DEMO_USERS order. */
export async function seedDemoUsers(users: UsersService): Promise<User[]> {
  const stored = await users.ensureUsers(DEMO_USERS.map((u) => ({ ...u })));
  return DEMO_USERS.map((demo) => stored.find((u) => u.handle === demo.handle)).filter((u): u is User => u !== undefined);
}

/**
 * The demo users with these handles as stored (all of them by default, in DEMO_USERS order); a
 * one-line error naming the first one missing, for the scripts that need them.
 */
export async function findDemoUsers(users: UsersService, handles: string[] = DEMO_USERS.map((u) => u.handle)): Promise<User[]> {
  const stored = await users.findByHandles(handles);
  return handles.map((handle) => {
    const user = stored.find((u) => u.handle === handle);
    if (!user) throw new Error(`demo user @${handle} is not in Postgres (npm run db:seed)`);
    return user;
  });
}
