import { DEMO_USERS } from '../users/demo-users.js';
import type { User } from '../users/user.entity.js';
import type { UsersService } from '../users/users.service.js';

/** Inserts the demo users that are missing (by handle); returns all of them, in DEMO_USERS order. */
export async function seedDemoUsers(users: UsersService): Promise<User[]> {
  const stored = await users.ensureUsers(DEMO_USERS.map((u) => ({ ...u })));
  return DEMO_USERS.map((demo) => stored.find((u) => u.handle === demo.handle)).filter((u): u is User => u !== undefined);
}
