import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ensureUserPoolClient, signInWithPassword } from '../tools/cognito/cognito.client.js';
import { PASSWORD, startApiStack, type ApiStack, type TestUser } from './support/api-stack.js';
import { decodeJwtPayload, emulatorSigningKey, foreignSigningKey, signJwt } from './support/tokens.js';

let stack: ApiStack;
let alice: TestUser;
let validToken: string;

beforeAll(async () => {
  stack = await startApiStack();
  alice = await stack.createUser('alice');
  validToken = await stack.accessToken(alice);
});

afterAll(async () => {
  await stack?.stop();
});

const listConversations = (authorization?: string) => {
  const req = request(stack.app.getHttpServer()).get('/api/message_groups');
  return authorization === undefined ? req : req.set('Authorization', authorization);
};

describe('the Cognito guard', () => {
  it('lets a valid access token of a known user through', async () => {
    const res = await listConversations(`Bearer ${validToken}`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
  });

  it.each([
    ['no Authorization header', undefined],
    ['an empty header', ''],
    ['another scheme', `Basic ${Buffer.from('alice:pw').toString('base64')}`],
    ['a token that is not a JWT', 'Bearer not-a-token'],
    ['a bearer without token', 'Bearer '],
    ['garbage with JWT shape', 'Bearer aaa.bbb.ccc'],
  ])('answers 401 to %s', async (_, header) => {
    const res = await listConversations(header);

    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect(JSON.stringify(res.body)).not.toMatch(/\s+at\s/);
  });

  it('answers 401 to an expired token signed with the right key', async () => {
    const claims = decodeJwtPayload(validToken);
    const expired = signJwt({ ...claims, iat: 1_600_000_000, exp: 1_600_003_600 }, emulatorSigningKey());

    expect((await listConversations(`Bearer ${expired}`)).status).toBe(401);
  });

  it('takes the scheme in any case (RFC 9110: auth schemes are case-insensitive)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) expect((await listConversations(`${scheme} ${validToken}`)).status).toBe(200);
  });

  it('answers 401 to a correctly signed token without exp (it would never expire)', async () => {
    const { exp: _, ...claims } = decodeJwtPayload(validToken);
    const eternal = signJwt(claims, emulatorSigningKey());

    expect((await listConversations(`Bearer ${eternal}`)).status).toBe(401);
  });

  it('answers 401 to a token with valid claims signed by another key', async () => {
    const forged = signJwt(decodeJwtPayload(validToken), foreignSigningKey());

    expect((await listConversations(`Bearer ${forged}`)).status).toBe(401);
  });

  it('answers 401 to a token from another issuer', async () => {
    const claims = decodeJwtPayload(validToken);
    const foreign = signJwt({ ...claims, iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other' }, emulatorSigningKey());

    expect((await listConversations(`Bearer ${foreign}`)).status).toBe(401);
  });

  it('answers 401 to a token of another app client', async () => {
    const { id: otherClient } = await ensureUserPoolClient(stack.cognito, stack.userPoolId, 'another-app');
    const { accessToken } = await signInWithPassword(stack.cognito, otherClient, alice.username, PASSWORD);

    expect((await listConversations(`Bearer ${accessToken}`)).status).toBe(401);
  });

  it('answers 401 to an id token', async () => {
    const idToken = await stack.idToken(alice);

    expect((await listConversations(`Bearer ${idToken}`)).status).toBe(401);
  });

  it('answers 403 with a neutral message to a valid token whose user is not in Postgres', async () => {
    const stranger = await stack.createUser('stranger', { inPostgres: false });
    const token = await stack.accessToken(stranger);

    const res = await listConversations(`Bearer ${token}`);

    expect(res.status).toBe(403);
    // Nothing about operators or their scripts: that told an attacker which run would link them.
    expect(res.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'This account has no Cruddur profile' });
  });
});
