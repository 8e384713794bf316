import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { decodeJwtPayload, emulatorSigningKey, foreignSigningKey, signJwt } from '../support/tokens.js';
import { isCleanErrorBody, type ApiResponse } from './api-client.js';
import { ReliabilityFigures } from './figures.js';
import { ServiceStack, type StackUser } from './service-stack.js';
import { auditTable } from './table-audit.js';

/*
 * Access (issue 6, reliability 4): every route with every user's token, and with forged, expired,
 * id and otherwise invalid tokens. Five users: ann talks with ben and cat, ben with cat; dan has
 * no conversation; eve has a Cognito account but no Cruddur user. Zero leaks: a non-member gets
 * exactly the answer an unknown conversation gets (existence is not revealed), nobody's list shows
 * a conversation they are not in, a cursor or an Idempotency-Key of one user is worth nothing to
 * another, and an invalid token gets 401 on every route and changes nothing.
 */
const figures = new ReliabilityFigures('access');
let stack: ServiceStack;
let people: Record<'ann' | 'ben' | 'cat' | 'dan', StackUser>;
let eve: StackUser;
const tokens = new Map<string, string>();
const conversations: { group: string; members: StackUser[]; messages: string[] }[] = [];
let leaks = 0;
let cases = 0;

beforeAll(async () => {
  stack = await ServiceStack.start();
  const [ann, ben, cat, dan] = await Promise.all(
    ['ann', 'ben', 'cat', 'dan'].map((n) => stack.createUser(`${n}${randomUUID().slice(0, 6)}`)),
  );
  people = { ann, ben, cat, dan };
  eve = await stack.createUser(`eve${randomUUID().slice(0, 6)}`, { inPostgres: false });
  for (const user of [ann, ben, cat, dan, eve]) tokens.set(user.uuid, await stack.accessToken(user));
  for (const [a, b] of [
    [ann, ben],
    [ann, cat],
    [ben, cat],
  ]) {
    const messages: string[] = [];
    let group = '';
    for (let i = 0; i < 5; i++) {
      const from = i % 2 ? b : a;
      const body = group
        ? { message: `${a.handle}-${b.handle} #${i}`, message_group_uuid: group }
        : { message: `${a.handle}-${b.handle} #${i}`, handle: b.handle };
      const res = await stack.api.post('/api/messages', tokens.get(from.uuid), body);
      expect(res.status).toBe(200);
      group = (res.body as { message_group_uuid: string }).message_group_uuid;
      messages.push((res.body as { uuid: string }).uuid);
    }
    conversations.push({ group, members: [a, b], messages });
  }
  await stack.drain();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  figures.set('totals', 'requests', stack?.api.requests ?? 0);
  figures.set('totals', 'cases', cases);
  figures.set('totals', 'leaks found', leaks);
  figures.print();
});

const members = () => Object.values(people);
const auth = (user: StackUser) => tokens.get(user.uuid);

/** Every page of a list, following X-Next-Cursor. */
async function allPages(
  path: string,
  token: string | undefined,
  limit: number,
): Promise<{ statuses: number[]; items: Record<string, string>[]; last: ApiResponse }> {
  const statuses: number[] = [];
  const items: Record<string, string>[] = [];
  let cursor: string | undefined;
  let last: ApiResponse;
  do {
    last = await stack.api.get(`${path}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, token);
    statuses.push(last.status);
    if (last.status === 200) items.push(...(last.body as Record<string, string>[]));
    cursor = last.status === 200 ? (last.headers['x-next-cursor'] as string | undefined) : undefined;
  } while (cursor);
  return { statuses, items, last };
}

/** Counts a leak when `ok` is false, so the summary shows them even when one assertion fails. */
function leakUnless(ok: boolean): void {
  cases++;
  if (!ok) leaks++;
}

describe("other users' tokens", () => {
  it('show each user exactly their own conversations, page by page', async () => {
    for (const user of members()) {
      const { statuses, items } = await allPages('/api/message_groups', auth(user), 1);
      const expected = conversations.filter((c) => c.members.includes(user));
      const shown = items.map((g) => g.uuid).sort();
      leakUnless(shown.every((uuid) => expected.some((c) => c.group === uuid)));

      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(shown).toEqual(expected.map((c) => c.group).sort());
      for (const g of items) {
        const other = expected.find((c) => c.group === g.uuid)!.members.find((m) => m !== user)!;
        expect(g.handle).toBe(other.handle);
      }
    }
  });

  it('let only members read a conversation; a non-member gets the answer of a conversation that does not exist', async () => {
    const unknown = await stack.api.get(`/api/messages/${randomUUID()}`, auth(people.dan));
    expect(unknown.status).toBe(404);
    expect(isCleanErrorBody(unknown)).toBe(true);

    for (const conversation of conversations) {
      const memberCursor = String(
        (await stack.api.get(`/api/messages/${conversation.group}?limit=2`, auth(conversation.members[0]))).headers['x-next-cursor'],
      );
      for (const user of members()) {
        const { statuses, items, last } = await allPages(`/api/messages/${conversation.group}`, auth(user), 2);
        const withCursor = await stack.api.get(
          `/api/messages/${conversation.group}?limit=2&cursor=${encodeURIComponent(memberCursor)}`,
          auth(user),
        );
        if (conversation.members.includes(user)) {
          expect(statuses.every((s) => s === 200)).toBe(true);
          expect(items.map((m) => m.uuid)).toEqual(expect.arrayContaining(conversation.messages));
          expect(withCursor.status).toBe(200);
          leakUnless(true);
        } else {
          leakUnless(items.length === 0 && withCursor.status === 404);
          expect(statuses).toEqual([404]);
          expect(last.body).toEqual(unknown.body);
          expect(withCursor.status).toBe(404);
          expect(withCursor.body).toEqual(unknown.body);
        }
      }
    }
  });

  it("let only members post in a conversation; a non-member's post is refused like one to a conversation that does not exist, and stores nothing", async () => {
    const before = await auditTable(stack.repository);
    const unknown = await stack.api.post('/api/messages', auth(people.dan), { message: 'to nowhere', message_group_uuid: randomUUID() });

    for (const conversation of conversations) {
      for (const user of members().filter((u) => !conversation.members.includes(u))) {
        const res = await stack.api.post('/api/messages', auth(user), { message: 'let me in', message_group_uuid: conversation.group });
        leakUnless(res.status === 404);
        expect(res.status).toBe(404);
        expect(res.body).toEqual(unknown.body);
      }
    }
    await stack.drain();
    const after = await auditTable(stack.repository);
    expect(after.messages).toHaveLength(before.messages.length);
    expect(after.groups).toHaveLength(before.groups.length);
  });

  it("let only members mark a conversation read; a non-member's mark is refused like one for a conversation that does not exist, and changes nobody's read state", async () => {
    const unknown = await stack.api.post(`/api/message_groups/${randomUUID()}/read`, auth(people.dan), {});
    expect(unknown.status).toBe(404);
    const readState = async () =>
      (await auditTable(stack.repository)).members
        .map((m) => `${m.group}/${m.owner}: ${m.pending}`)
        .sort()
        .join('\n') +
      JSON.stringify(
        await Promise.all(conversations.flatMap((c) => c.members.map((u) => stack.repository.getMember(c.group, u.uuid)))).then((members) =>
          members.map((m) => [m?.last_read_at, m?.other_last_read_at, m?.unread_count]),
        ),
      );
    const before = await readState();

    for (const conversation of conversations) {
      for (const user of members().filter((u) => !conversation.members.includes(u))) {
        const res = await stack.api.post(`/api/message_groups/${conversation.group}/read`, auth(user), {});
        leakUnless(res.status === 404);
        expect(res.status).toBe(404);
        expect(res.body).toEqual(unknown.body);
      }
    }
    expect(await readState()).toBe(before);
  });

  it("do not accept another user's conversations cursor", async () => {
    const annCursor = String((await stack.api.get('/api/message_groups?limit=1', auth(people.ann))).headers['x-next-cursor']);

    for (const user of members().filter((u) => u !== people.ann)) {
      const res = await stack.api.get(`/api/message_groups?limit=1&cursor=${encodeURIComponent(annCursor)}`, auth(user));
      leakUnless(res.status === 400);
      expect({ status: res.status, errors: (res.body as { errors?: string[] }).errors }).toEqual({
        status: 400,
        errors: ['cursor_invalid'],
      });
    }
  });

  it("do not share Idempotency-Keys: another user's key returns their own new message, never the first user's", async () => {
    const key = `shared-${randomUUID()}`;
    const [annBen] = conversations;
    const first = await stack.api.post(
      '/api/messages',
      auth(people.ann),
      { message: 'ann keyed', message_group_uuid: annBen.group },
      { 'idempotency-key': key },
    );
    const cat = await stack.api.post(
      '/api/messages',
      auth(people.cat),
      { message: 'cat keyed', handle: people.dan.handle },
      { 'idempotency-key': key },
    );
    const benSame = await stack.api.post(
      '/api/messages',
      auth(people.ben),
      { message: 'ann keyed', message_group_uuid: annBen.group },
      { 'idempotency-key': key },
    );

    leakUnless(
      (cat.body as { uuid: string }).uuid !== (first.body as { uuid: string }).uuid &&
        (benSame.body as { uuid: string }).uuid !== (first.body as { uuid: string }).uuid,
    );
    expect([first.status, cat.status, benSame.status]).toEqual([200, 200, 200]);
    expect(cat.body).toMatchObject({ handle: people.cat.handle, message: 'cat keyed' });
    expect(cat.body).not.toMatchObject({ message_group_uuid: annBen.group });
    expect(benSame.body).toMatchObject({ handle: people.ben.handle, message: 'ann keyed' });
    expect((benSame.body as { uuid: string }).uuid).not.toBe((first.body as { uuid: string }).uuid);
  });
});

describe('forged, expired, id and otherwise invalid tokens', () => {
  it('get 401 on every route, and change nothing', async () => {
    const { ann } = people;
    const claims = decodeJwtPayload(auth(ann)!);
    const emulatorKey = emulatorSigningKey();
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const invalid: Record<string, string> = {
      'forged (another key)': signJwt(claims, foreignSigningKey()),
      expired: signJwt({ ...claims, iat: 1_600_000_000, exp: 1_600_003_600 }, emulatorKey),
      'id token': await stack.idToken(ann),
      'another app client': await stack.otherClientAccessToken(ann),
      'another issuer': signJwt({ ...claims, iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other' }, emulatorKey),
      'alg none': `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`,
      'unknown kid': signJwt(claims, emulatorKey, 'another-kid'),
      'signature of another token': `${auth(ann)!.split('.').slice(0, 2).join('.')}.${auth(people.ben)!.split('.')[2]}`,
    };
    const [annBen] = conversations;
    const cursor = String((await stack.api.get(`/api/messages/${annBen.group}?limit=2`, auth(ann))).headers['x-next-cursor']);
    const routes: Record<string, (token: string) => Promise<ApiResponse>> = {
      'GET /api/message_groups': (t) => stack.api.get('/api/message_groups', t),
      'GET /api/messages/:uuid': (t) => stack.api.get(`/api/messages/${annBen.group}`, t),
      'GET /api/messages/:uuid?cursor': (t) =>
        stack.api.get(`/api/messages/${annBen.group}?limit=2&cursor=${encodeURIComponent(cursor)}`, t),
      'POST /api/messages (reply)': (t) =>
        stack.api.post('/api/messages', t, { message: 'forged reply', message_group_uuid: annBen.group }),
      'POST /api/messages (to a handle)': (t) => stack.api.post('/api/messages', t, { message: 'forged start', handle: people.dan.handle }),
      'POST /api/message_groups/:uuid/read': (t) => stack.api.post(`/api/message_groups/${annBen.group}/read`, t, {}),
      'POST /api/messages (with a key)': (t) =>
        stack.api.post('/api/messages', t, { message: 'forged keyed', handle: people.dan.handle }, { 'idempotency-key': 'forged' }),
    };
    const before = await auditTable(stack.repository);

    const answers: string[] = [];
    for (const [kind, token] of Object.entries(invalid)) {
      for (const [route, call] of Object.entries(routes)) {
        const res = await call(token);
        leakUnless(res.status === 401);
        answers.push(`${kind} → ${route}: ${res.status}${isCleanErrorBody(res) ? '' : ' (unclean body)'}`);
      }
    }
    const noUser: string[] = [];
    for (const [route, call] of Object.entries(routes)) {
      const res = await call(auth(eve)!);
      leakUnless(res.status === 403);
      noUser.push(`${route}: ${res.status}${isCleanErrorBody(res) ? '' : ' (unclean body)'}`);
    }
    await stack.drain();
    const after = await auditTable(stack.repository);

    expect(answers).toEqual(Object.keys(invalid).flatMap((kind) => Object.keys(routes).map((route) => `${kind} → ${route}: 401`)));
    // A genuine token of a Cognito account without a Cruddur user: 403, with the same guarantees.
    expect(noUser).toEqual(Object.keys(routes).map((route) => `${route}: 403`));
    expect(after.messages).toHaveLength(before.messages.length);
    expect(after.groups).toHaveLength(before.groups.length);
  });
});
