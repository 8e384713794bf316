import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { createApp, initApp } from '../src/app.factory.js';
import { DEFAULT_USER_CACHE_SECONDS } from '../src/config/config.js';
import { openDataSource } from '../tools/database/data-source.js';
import { User } from '../src/users/user.entity.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';

/*
 * The guard caches users found by their Cognito sub for USER_CACHE_SECONDS: the bound on how long
 * a removed (or renamed) user is still seen by a task. Two apps on the same stack: one configured
 * with USER_CACHE_SECONDS=0, one with the default.
 */
let stack: ApiStack;
let defaultCacheApp: NestFastifyApplication;
let dataSource: DataSource;

beforeAll(async () => {
  stack = await startApiStack({ env: { USER_CACHE_SECONDS: '0', STREAM_EMULATOR: 'off' } });
  defaultCacheApp = await createApp({ ...stack.config, userCacheSeconds: DEFAULT_USER_CACHE_SECONDS }, { logger: false });
  await initApp(defaultCacheApp);
  dataSource = await openDataSource(stack.db.url);
});

afterAll(async () => {
  await defaultCacheApp?.close();
  await dataSource?.destroy();
  await stack?.stop();
});

const listConversations = (app: NestFastifyApplication, token: string) =>
  request(app.getHttpServer()).get('/api/message_groups').set('Authorization', `Bearer ${token}`);

describe('USER_CACHE_SECONDS', () => {
  it('is read from the environment', () => {
    expect(stack.config.userCacheSeconds).toBe(0);
  });

  it('at 0, answers 403 on the very next request of a user deleted from Postgres', async () => {
    const user = await stack.createUser();
    const token = await stack.accessToken(user);
    expect((await listConversations(stack.app, token)).status).toBe(200);
    expect((await listConversations(defaultCacheApp, token)).status).toBe(200);

    await dataSource.getRepository(User).delete({ uuid: user.uuid });

    const uncached = await listConversations(stack.app, token);
    expect(uncached.status).toBe(403);
    expect(uncached.body.message).toBe('This account has no Cruddur profile');
    // With the default 60 s the task still knows the removed user: the staleness bound README states.
    expect((await listConversations(defaultCacheApp, token)).status).toBe(200);
  });
});
