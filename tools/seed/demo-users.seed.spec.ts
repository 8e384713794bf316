import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../test/support/postgres.js';
import { openDataSource } from '../database/data-source.js';
import { DEMO_USERS } from './demo-users.js';
import { User } from '../../src/users/user.entity.js';
import { UsersService } from '../../src/users/users.service.js';
import { seedDemoUsers } from './demo-users.seed.js';

let db: TestDatabase;
let dataSource: DataSource;
let users: UsersService;

beforeAll(async () => {
  db = await createTestDatabase();
  dataSource = await openDataSource(db.url);
  users = new UsersService(dataSource.getRepository(User));
});

afterAll(async () => {
  await dataSource?.destroy();
  await db?.drop();
});

describe('seedDemoUsers', () => {
  it('inserts the demo users and returns them in DEMO_USERS order', async () => {
    const seeded = await seedDemoUsers(users);

    expect(seeded.map((u) => [u.handle, u.display_name, u.email])).toEqual(DEMO_USERS.map((u) => [u.handle, u.display_name, u.email]));
    expect(seeded.every((u) => /^[0-9a-f-]{36}$/.test(u.uuid))).toBe(true);
  });

  it('is idempotent: a second run keeps the same rows and adds none', async () => {
    const first = await seedDemoUsers(users);

    const second = await seedDemoUsers(users);

    expect(second.map((u) => u.uuid)).toEqual(first.map((u) => u.uuid));
    await expect(dataSource.getRepository(User).count()).resolves.toBe(DEMO_USERS.length);
  });

  it('leaves an existing demo user as it is', async () => {
    await dataSource.getRepository(User).update({ handle: DEMO_USERS[0].handle }, { cognito_user_id: 'sub-123' });

    const seeded = await seedDemoUsers(users);

    expect(seeded[0].cognito_user_id).toBe('sub-123');
  });
});
