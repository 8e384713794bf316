import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createHmac, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { decodeJwtPayload, emulatorSigningKey, foreignSigningKey, signJwt } from '../support/tokens.js';
import { isCleanErrorBody, type ApiRequest, type ApiResponse } from './api-client.js';
import { ReliabilityFigures } from './figures.js';
import { ServiceStack, type StackUser } from './service-stack.js';
import { auditTable } from './table-audit.js';

/*
 * Bad input (issue 6, reliability 3; issue 10): property-based tests (fast-check) of POST bodies
 * (nesting, size and width bombs included), query strings, path parameters, the public routes,
 * cursors, headers and tokens, 1,000 cases each, against one running service. Every answer: never a 5xx; every refusal a JSON error body {statusCode, error, message}
 * without a stack trace. Around each property the table is audited: the messages added are exactly
 * those of the requests answered 200 (a rejected request changes nothing), and the conversations
 * stay as they were.
 */
const RUNS = 1000;
const figures = new ReliabilityFigures('bad input');
let stack: ServiceStack;
let alice: StackUser;
let bob: StackUser;
let dave: StackUser;
let token: string;
let group: string;
let messagesCursor: string;
let groupsCursor: string;
let emulatorKey: KeyObject;
let foreignKey: KeyObject;

beforeAll(async () => {
  stack = await ServiceStack.start();
  [alice, bob, dave] = await Promise.all(['alice', 'bob', 'dave'].map((name) => stack.createUser(`${name}${randomUUID().slice(0, 6)}`)));
  token = await stack.accessToken(alice);
  const first = await stack.api.post('/api/messages', token, { message: 'first', handle: bob.handle });
  group = (first.body as { message_group_uuid: string }).message_group_uuid;
  for (let i = 0; i < 4; i++) await stack.api.post('/api/messages', token, { message: `setup ${i}`, message_group_uuid: group });
  await stack.api.post('/api/messages', token, { message: 'to dave', handle: dave.handle });
  await stack.drain();
  messagesCursor = String((await stack.api.get(`/api/messages/${group}?limit=2`, token)).headers['x-next-cursor']);
  groupsCursor = String((await stack.api.get('/api/message_groups?limit=1', token)).headers['x-next-cursor']);
  emulatorKey = emulatorSigningKey();
  foreignKey = foreignSigningKey();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  figures.set('totals', 'requests', stack?.api.requests ?? 0);
  figures.set('totals', 'cases', totalCases);
  figures.set('totals', 'losses (5xx or stored by refused requests)', totalLosses);
  figures.print();
});

let totalCases = 0;
let totalLosses = 0;

/**
 * Runs a property over requests and checks the invariants of every answer; around the run, the
 * table: what was added is exactly the messages answered 200, the conversations unchanged.
 */
async function checkRequests<T>(
  name: string,
  arbitrary: fc.Arbitrary<T>,
  toRequest: (value: T) => ApiRequest,
  expectAnswer?: (value: T, res: ApiResponse) => void,
) {
  const before = await auditTable(stack.repository);
  const accepted = new Set<string>();
  const statuses = new Map<number, number>();
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      cases++;
      const req = toRequest(value);
      const res = await stack.api.send(req);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status).toBeLessThan(500);
      if (res.status !== 200)
        expect({ clean: isCleanErrorBody(res), status: res.status, text: res.text.slice(0, 300) }).toMatchObject({ clean: true });
      if (res.status === 200 && req.method === 'POST' && (res.body as { uuid?: string })?.uuid)
        accepted.add((res.body as { uuid: string }).uuid);
      expectAnswer?.(value, res);
    }),
    { numRuns: RUNS },
  );
  await stack.drain();
  const after = await auditTable(stack.repository);
  const known = new Set(before.messages.map((m) => m.message_uuid));
  const added = after.messages.filter((m) => !known.has(m.message_uuid)).map((m) => m.message_uuid);
  const unexplained = added.filter((uuid) => !accepted.has(uuid));
  const count = (from: number, to: number) => [...statuses].filter(([s]) => s >= from && s <= to).reduce((n, [, c]) => n + c, 0);
  figures.add(name, 'cases', cases);
  figures.add(name, '200', count(200, 299));
  figures.add(name, '4xx', count(400, 499));
  figures.add(name, '5xx', count(500, 599));
  figures.add(name, 'messages stored', added.length);
  figures.add(name, 'stored by refused requests', unexplained.length);
  totalCases += cases;
  totalLosses += unexplained.length + count(500, 599);
  expect(cases).toBeGreaterThanOrEqual(RUNS);
  expect(unexplained).toEqual([]);
  expect(added.sort()).toEqual([...accepted].sort());
  expect(after.groups.map((g) => `${g.owner}/${g.group}`).sort()).toEqual(before.groups.map((g) => `${g.owner}/${g.group}`).sort());
  expect((await stack.stats()).polluted).toEqual([]);
}

const bearer = () => ({ authorization: `Bearer ${token}` });
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);
const hugeString = fc.oneof(
  fc.string({ minLength: 1000, maxLength: 1100 }),
  fc.string({ unit: 'binary', minLength: 1020, maxLength: 1030 }),
  fc.constant('x'.repeat(70_000)),
);
const base64url = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
  minLength: 1,
  maxLength: 60,
});
const latin1Header = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .filter((c) => c !== 0x7f)
    .map((c) => String.fromCharCode(c)),
  maxLength: 80,
});
const pollutionKeys = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

describe('POST bodies', () => {
  it('never answer 5xx nor store a rejected message (arbitrary JSON, wrong types, huge strings, unicode, prototype keys)', async () => {
    // null and '' often, as clients that send every field do: a valid other field must still win.
    const fieldValue = (valid: fc.Arbitrary<unknown>) =>
      fc.oneof(valid, fc.constantFrom(null, ''), anyString, fc.jsonValue({ maxDepth: 2 }), hugeString);
    const shaped = fc
      .record(
        {
          message: fieldValue(
            fc.oneof(
              fc.string({ minLength: 1, maxLength: 30 }),
              fc.constantFrom(' ', '\u200b', '\u0000', '😀'.repeat(1024), 'é'.repeat(1025)),
            ),
          ),
          handle: fieldValue(fc.constantFrom(bob.handle, `@${bob.handle}`, alice.handle, alice.handle.toUpperCase(), 'nobody_here', '')),
          message_group_uuid: fieldValue(fc.oneof(fc.constant(group), fc.uuid(), fc.constant(group.toUpperCase()))),
          extra: fc.dictionary(fc.oneof(fc.constantFrom(...pollutionKeys), fc.string({ maxLength: 8 })), fc.jsonValue({ maxDepth: 2 }), {
            maxKeys: 3,
          }),
        },
        { requiredKeys: [] },
      )
      .map(({ extra, ...fields }) => jsonObject({ ...fields }, extra ?? {}));
    const pollution = fc
      .tuple(fc.constantFrom(...pollutionKeys), fc.jsonValue({ maxDepth: 2 }))
      .map(
        ([key, value]) =>
          `{"message":"hi","message_group_uuid":"${group}","${key}":${JSON.stringify(value)},"__proto__":{"handle":"${bob.handle}","isAdmin":true}}`,
      );
    // Nesting and size bombs in any field: deeper than a body may nest, up to the 64 KB limit and over it.
    const field = fc.constantFrom('message', 'handle', 'message_group_uuid', 'extra');
    const depthBomb = fc
      .tuple(field, fc.integer({ min: 17, max: 20_000 }), fc.constantFrom('[', '{"a":'))
      .map(([name, depth, open]) => `{"message":"hi","${name}":${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}}`);
    const sizeBomb = fc
      .tuple(field, fc.integer({ min: 60_000, max: 70_000 }))
      .map(([name, size]) => `{"message":"hi","${name}":${JSON.stringify('x'.repeat(size))}}`);
    const wideBomb = fc
      .integer({ min: 1000, max: 6000 })
      .map((n) => `{"message":"hi","handle":"${bob.handle}",${Array.from({ length: n }, (_, i) => `"k${i}":[]`).join(',')}}`);
    const body = fc.oneof(
      shaped,
      pollution,
      depthBomb,
      sizeBomb,
      wideBomb,
      fc.jsonValue({ maxDepth: 40 }).map((v) => JSON.stringify({ message: 'deep', handle: bob.handle, extra: v })),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.constantFrom('', '{', '{"message":', 'null', '[]', '"text"', '{"message":"a","handle":"b"', '\ufeff{"message":"bom"}'),
    );

    await checkRequests('POST bodies', body, (text) => ({
      method: 'POST',
      path: '/api/messages',
      headers: { ...bearer(), 'content-type': 'application/json' },
      body: Buffer.from(text, 'utf8'),
    }));
  }, 180_000);
});

describe('query strings', () => {
  it('never answer 5xx on either list (limit, cursor, unknown and repeated parameters)', async () => {
    const key = fc.oneof(
      fc.constantFrom(
        'limit',
        'cursor',
        'limit[]',
        'cursor[]',
        'limit[a]',
        'cursor[0]',
        'cursor[__proto__]',
        '__proto__',
        '__proto__[limit]',
        'constructor',
        'toString',
        'hasOwnProperty',
      ),
      fc.string({ unit: 'binary', maxLength: 10 }).map(encodeURIComponent),
    );
    const value = fc.oneof(
      fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
      fc.double().map(String),
      fc.constantFrom(
        '',
        '0',
        '1',
        '20',
        '100',
        '101',
        '1e2',
        '0x10',
        'NaN',
        'Infinity',
        '-0',
        '1.5',
        '%205',
        '5%20',
        '+5',
        'null',
        'true',
        '[]',
        '{}',
        '%',
        '%ZZ',
        '%00',
      ),
      fc.constantFrom(messagesCursor, groupsCursor).map(encodeURIComponent),
      anyString.map(encodeURIComponent),
      fc.string({ minLength: 1000, maxLength: 3000 }).map(encodeURIComponent),
    );
    const query = fc.tuple(fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 6 }), fc.boolean());

    await checkRequests(
      'query strings',
      query,
      ([params, messages]) => ({
        path: `${messages ? `/api/messages/${group}` : '/api/message_groups'}?${params.map(([k, v]) => `${k}=${v}`).join('&')}`,
        headers: bearer(),
      }),
      (_, res) => {
        if (res.status === 200) expect(Array.isArray(res.body)).toBe(true);
        else expect(res.status).toBe(400);
      },
    );
  }, 180_000);
});

describe('path parameters', () => {
  it('never answer 5xx for any message_group_uuid (random, odd encodings, huge)', async () => {
    const segment = fc.oneof(
      fc.uuid(),
      fc.constantFrom(group, group.toUpperCase(), `${group}x`, ` ${group}`.replace(' ', '%20'), `${group}%00`, `${group}/extra`),
      anyString.map(encodeURIComponent),
      fc.stringMatching(/^[%0-9A-Za-z._~!$&'()*+,;=:@-]{0,60}$/),
      fc.constantFrom('%', '%ZZ', '%E0%A4%A', '%00', '%2F', '..', '.', '%2e%2e', 'a%20b', '%C0%AF', '%FF', '%uD800', '%%'),
      fc.string({ minLength: 2000, maxLength: 5000 }).map(encodeURIComponent),
    );

    await checkRequests(
      'path parameters',
      fc.tuple(segment, fc.boolean()),
      ([seg, paged]) => ({
        path: `/api/messages/${seg}${paged ? '?limit=2' : ''}`,
        headers: bearer(),
      }),
      ([seg], res) => {
        if (seg.toLowerCase() === group) expect(res.status).toBe(200);
        // 414: a path parameter over the router's 100 characters (Fastify's maxParamLength), refused before any route runs.
        else expect([400, 404, 414]).toContain(res.status);
      },
    );
  }, 180_000);
});

describe('public routes', () => {
  it('never answer 5xx for any handle in /api/users/@:handle/short, nor for odd queries on the public routes', async () => {
    const handle = fc.oneof(
      fc.constantFrom(
        bob.handle,
        bob.handle.toUpperCase(),
        `${bob.handle}%00`,
        '%00',
        `a%00b`,
        'nobody_here',
        '@',
        '%40',
        '%2F',
        '..',
        '%2e%2e',
        '%FF',
        '%',
        '%ZZ',
        'a%20b',
      ),
      anyString.map(encodeURIComponent),
      fc.stringMatching(/^[%0-9A-Za-z._~!$&'()*+,;=:@-]{0,70}$/),
      fc.string({ minLength: 2000, maxLength: 5000 }).map(encodeURIComponent),
    );
    const query = fc.oneof(
      fc.constant(''),
      fc
        .array(fc.tuple(anyString, anyString), { maxLength: 4 })
        .map((pairs) => `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`),
    );
    const route = fc.oneof(
      { arbitrary: fc.tuple(handle, query).map(([h, q]) => ({ path: `/api/users/@${h}/short${q}`, handle: h })), weight: 4 },
      query.map((q) => ({ path: `/api/health${q}`, handle: undefined })),
      query.map((q) => ({ path: `/api/docs/openapi.json${q}`, handle: undefined })),
    );

    await checkRequests(
      'public routes',
      route,
      ({ path }) => ({ path }),
      ({ handle }, res) => {
        if (handle === undefined) expect(res.status).toBe(200);
        else if (handle.toLowerCase() === bob.handle.toLowerCase()) expect(res.status).toBe(200);
        else expect([400, 404, 414]).toContain(res.status);
      },
    );
  }, 180_000);
});

describe('read markers', () => {
  it('never answer 5xx for any up_to or body on POST /api/message_groups/:uuid/read, and never move a marker past the newest message', async () => {
    const newest = (await stack.repository.newestMessage(group))!.created_at;
    const upTo = fc.oneof(
      fc.constantFrom(newest, '2999-01-01T00:00:00.000000+00:00', '1970-01-01T00:00:00.000000+00:00', '2024-01-01', 'now', '', ' ', null),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString().replace('Z', '-05:00')),
      anyString,
      hugeString,
      fc.jsonValue({ maxDepth: 3 }),
    );
    const body = fc.oneof(
      upTo.map((value) => JSON.stringify({ up_to: value })),
      fc.constantFrom('', '{}', 'null', '[]', '"x"', '{"up_to":'),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
    );

    await checkRequests(
      'read markers',
      fc.tuple(body, fc.boolean()),
      ([text, otherGroup]) => ({
        method: 'POST',
        path: `/api/message_groups/${otherGroup ? randomUUID() : group}/read`,
        headers: { ...bearer(), 'content-type': 'application/json' },
        body: Buffer.from(text, 'utf8'),
      }),
      ([, otherGroup], res) => {
        if (otherGroup) expect([400, 404, 413, 422]).toContain(res.status);
        else if (res.status === 200) expect(String((res.body as { last_read_at: string }).last_read_at) <= newest).toBe(true);
        else expect([400, 413, 422]).toContain(res.status);
      },
    );
  }, 180_000);
});

describe('cursors', () => {
  it('accept only the cursors the service issued for that list (random, mutated, re-signed, transplanted)', async () => {
    const mutate = (cursor: string) =>
      fc.oneof(
        fc.tuple(fc.nat(), base64url).map(([i, s]) => replaceAt(cursor, i % cursor.length, s[0])),
        fc.nat().map((i) => cursor.slice(0, i % cursor.length) + cursor.slice((i % cursor.length) + 1)),
        fc.tuple(fc.nat(), base64url).map(([i, s]) => cursor.slice(0, i % (cursor.length + 1)) + s + cursor.slice(i % (cursor.length + 1))),
        fc.nat().map((i) => cursor.slice(0, i % cursor.length)),
        fc.constantFrom(
          `${cursor}.`,
          `${cursor}.${cursor}`,
          cursor.split('.').reverse().join('.'),
          cursor.toUpperCase(),
          ` ${cursor}`,
          `${cursor}=`,
        ),
        // A payload of our own choosing under the issued signature.
        fc
          .record({
            s: fc.oneof(fc.constantFrom(`messages:${group}`, `groups:${alice.uuid}`, `groups:${bob.uuid}`), anyString),
            b: fc.oneof(fc.constant('2099-01-01T00:00:00.000000+00:00'), anyString),
          })
          .map((payload) => `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${cursor.split('.')[1]}`),
      );
    const cursor = fc.oneof(
      fc.constantFrom(messagesCursor, groupsCursor),
      mutate(messagesCursor),
      mutate(groupsCursor),
      anyString,
      fc.tuple(base64url, base64url).map(([a, b]) => `${a}.${b}`),
      fc.string({ minLength: 1000, maxLength: 1100 }),
    );

    await checkRequests(
      'cursors',
      fc.tuple(cursor, fc.boolean()),
      ([c, messages]) => ({
        path: `${messages ? `/api/messages/${group}` : '/api/message_groups'}?limit=2&cursor=${encodeURIComponent(c)}`,
        headers: bearer(),
      }),
      ([c, messages], res) => {
        const issued = messages ? messagesCursor : groupsCursor;
        if (c === issued || c === '') expect(res.status).toBe(200);
        else
          expect({ status: res.status, errors: (res.body as { errors?: string[] })?.errors }).toEqual({
            status: 400,
            errors: ['cursor_invalid'],
          });
      },
    );
  }, 180_000);
});

describe('headers', () => {
  it('never answer 5xx for odd Authorization, Idempotency-Key, Content-Type, Content-Encoding and bodies', async () => {
    const authorization = fc.oneof(
      { arbitrary: fc.constant(`Bearer ${token}`), weight: 3 },
      fc.constantFrom(
        `Bearer ${token}`,
        `bearer ${token}`,
        `Bearer  ${token}`,
        `Bearer ${token} `,
        ` Bearer ${token}`,
        `Bearer\t${token}`,
        `Bearer ${token}, Bearer ${token}`,
        `Bearer ${token}x`,
        'Bearer',
        'Bearer ',
        '',
        'Basic YWxpY2U6cHc=',
        `Token ${token}`,
      ),
      latin1Header,
      latin1Header.map((s) => `Bearer ${s}`),
    );
    const contentType = fc.oneof(
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/json; charset=utf-16',
        'application/json; charset=latin1',
        'application/json; charset=bogus',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded; charset=iso-8859-1',
        'multipart/form-data; boundary=x',
        'application/xml',
        '*/*',
        'application/vnd.api+json',
        'application/json;;',
        '',
      ),
      latin1Header,
    );
    const valid = (n: number) => JSON.stringify({ message: `header case ${n}`, message_group_uuid: group });
    const body = fc.oneof(
      fc.nat().map((n) => ({ bytes: Buffer.from(valid(n)), encoding: undefined as string | undefined })),
      fc.nat().map((n) => ({ bytes: gzipSync(valid(n)), encoding: 'gzip' })),
      fc.nat().map((n) => ({ bytes: deflateSync(valid(n)), encoding: 'deflate' })),
      fc.nat().map((n) => ({ bytes: Buffer.from(`message=form+${n}&message_group_uuid=${group}`), encoding: undefined })),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ bytes: Buffer.from(bytes), encoding: undefined })),
      fc
        .tuple(fc.uint8Array({ maxLength: 100 }), fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-bogus', 'gzip, gzip'))
        .map(([bytes, encoding]) => ({ bytes: Buffer.from(bytes), encoding })),
    );
    const headers = fc.record(
      {
        authorization,
        idempotencyKey: fc.oneof(
          fc.string({ unit: 'binary-ascii', maxLength: 20 }).map((s) => s.replace(/[^\t\x20-\x7e]/g, '')),
          latin1Header,
          fc.constantFrom('', ' ', 'k'.repeat(256), 'same-key'),
        ),
        contentType,
        encoding: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-bogus'),
        extra: fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,12}$/), latin1Header, { maxKeys: 3 }),
      },
      { requiredKeys: [] },
    );

    await checkRequests('headers', fc.tuple(headers, body, fc.boolean()), ([h, b, get]) => {
      const sent: Record<string, string> = { ...h.extra };
      if (h.authorization !== undefined) sent.authorization = h.authorization;
      if (h.idempotencyKey !== undefined) sent['idempotency-key'] = h.idempotencyKey;
      if (h.contentType !== undefined) sent['content-type'] = h.contentType;
      const encoding = b.encoding ?? h.encoding;
      if (encoding !== undefined && (b.encoding !== undefined || h.encoding !== 'identity')) sent['content-encoding'] = encoding;
      return get ? { path: '/api/message_groups', headers: sent } : { method: 'POST', path: '/api/messages', headers: sent, body: b.bytes };
    });
  }, 180_000);
});

describe('tokens', () => {
  it('let through only valid access tokens (random, mutated, alg=none, wrong kid, HS256, foreign key, bad claims)', async () => {
    const valid = decodeJwtPayload(token);
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const publicPem = createPublicKey(emulatorKey).export({ type: 'spki', format: 'pem' });
    type Expect = 200 | 401 | 403 | 'maybe';
    const claims = fc.record({
      iss: fc.constantFrom(valid.iss, 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other', `${String(valid.iss)}/`),
      client_id: fc.constantFrom(valid.client_id, 'otherclient'),
      token_use: fc.constantFrom('access', 'id', 'refresh'),
      exp: fc.constantFrom(Math.floor(Date.now() / 1000) + 3600, 1_600_003_600),
      sub: fc.constantFrom(alice.sub, bob.sub, randomUUID()),
    });
    const token$ = fc.oneof(
      fc.constant<[string, Expect]>([token, 200]),
      fc.tuple(base64url, base64url, base64url).map(([a, b, c]): [string, Expect] => [`${a}.${b}.${c}`, 401]),
      fc.tuple(fc.jsonValue(), fc.jsonValue()).map(([h, p]): [string, Expect] => [`${encode(h)}.${encode(p)}.${encode('sig')}`, 401]),
      fc.tuple(fc.nat(), base64url).map(([i, s]): [string, Expect] => {
        const at = i % token.length;
        if (token[at] === '.') return [token, 200];
        const mutated = replaceAt(token, at, s[0]);
        const sameSignature =
          at > token.lastIndexOf('.') &&
          Buffer.from(mutated.split('.')[2], 'base64url').equals(Buffer.from(token.split('.')[2], 'base64url'));
        return [mutated, mutated === token ? 200 : sameSignature ? 'maybe' : 401];
      }),
      fc.constantFrom<[string, Expect]>(
        [`${encode({ alg: 'none', typ: 'JWT' })}.${encode(valid)}.`, 401],
        [`${encode({ alg: 'none', typ: 'JWT', kid: 'CognitoLocal' })}.${encode(valid)}.x`, 401],
        [
          `${encode({ alg: 'HS256', typ: 'JWT', kid: 'CognitoLocal' })}.${encode(valid)}.${createHmac('sha256', publicPem)
            .update(`${encode({ alg: 'HS256', typ: 'JWT', kid: 'CognitoLocal' })}.${encode(valid)}`)
            .digest('base64url')}`,
          401,
        ],
      ),
      fc
        .string({ minLength: 1, maxLength: 12 })
        .map((kid): [string, Expect] => [signJwt(valid, emulatorKey, kid), kid === 'CognitoLocal' ? 200 : 401]),
      claims.map((c): [string, Expect] => [signJwt({ ...valid, ...c }, foreignKey), 401]),
      claims.map((c): [string, Expect] => {
        const accepted = c.iss === valid.iss && c.client_id === valid.client_id && c.token_use === 'access' && c.exp > Date.now() / 1000;
        // Signed with the emulator's (public) key and valid claims: a genuine token here; a sub unknown to Postgres is a 403.
        return [signJwt({ ...valid, ...c }, emulatorKey), !accepted ? 401 : [alice.sub, bob.sub].includes(c.sub) ? 200 : 403];
      }),
    );

    await checkRequests(
      'tokens',
      fc.tuple(token$, fc.constantFrom('groups', 'messages', 'post')),
      ([[jwt], route]) => {
        const headers = { authorization: `Bearer ${jwt}` };
        if (route === 'groups') return { path: '/api/message_groups', headers };
        if (route === 'messages') return { path: `/api/messages/${group}`, headers };
        return { method: 'POST', path: '/api/messages', headers, body: { message: 'token case', message_group_uuid: group } };
      },
      ([[, expected], route], res) => {
        // A changed last character of the signature can decode to the same bytes (base64url's spare bits).
        if (expected === 'maybe') expect([200, 401]).toContain(res.status);
        else expect({ route, status: res.status }).toEqual({ route, status: expected });
      },
    );
  }, 180_000);
});

function replaceAt(text: string, index: number, char: string): string {
  return text.slice(0, index) + char + text.slice(index + 1);
}

/** JSON text of an object with the given fields plus extra keys written literally (so `__proto__` is an own key in the text). */
function jsonObject(fields: Record<string, unknown>, extra: Record<string, unknown>): string {
  const entries = [...Object.entries(fields), ...Object.entries(extra)].filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`;
}
