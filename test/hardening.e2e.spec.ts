import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { TIMEOUTS } from '../src/common/timeouts.js';
import { startApiStack, type ApiStack, type TestUser } from './support/api-stack.js';

/*
 * Requests an attacker or a careless client sends, each of which once got a 5xx, a library's own
 * error text, or more work than it deserved (issue 10): every one is a clear 4xx now.
 */
let stack: ApiStack;
let alice: TestUser;
let bob: TestUser;
let token: string;
let port: number;

beforeAll(async () => {
  stack = await startApiStack({ env: { STREAM_EMULATOR: 'off' } });
  await stack.app.listen(0, '127.0.0.1');
  port = (stack.app.getHttpServer().address() as AddressInfo).port;
  [alice, bob] = await Promise.all([stack.createUser(), stack.createUser()]);
  token = await stack.accessToken(alice);
});

afterAll(async () => {
  await stack?.stop();
});

const api = () => request(stack.app.getHttpServer());
const post = (body: string | object, headers: Record<string, string> = {}) =>
  api()
    .post('/api/messages')
    .set({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers })
    .send(body);

/** Writes raw bytes to the API and resolves with what it answered before closing, or after `waitMs`. */
function rawExchange(head: string, waitMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(answer);
    }, waitMs);
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', reject);
  });
}

describe('request bodies', () => {
  it('refuses JSON nested deeper than a message needs with 400, not a 500', async () => {
    const bomb = `{"message":${'['.repeat(1300)}${']'.repeat(1300)},"handle":"${bob.handle}"}`;

    const res = await post(bomb);

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, message: 'JSON body nested too deeply' });
  });

  it.each(['message', 'handle', 'message_group_uuid', 'unknown'])('refuses a nesting bomb in the %s field with 400', async (field) => {
    const res = await post(`{"${field}":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`);

    expect(res.status).toBe(400);
  });

  it.each(['utf-7', 'utf-16le', 'UTF-16'])(
    'refuses a JSON body in charset %s with 415 (its nesting would hide from the depth check)',
    async (charset) => {
      const bomb = `{"message":${'['.repeat(2000)}${']'.repeat(2000)},"handle":"${bob.handle}"}`;
      const encoded = charset === 'utf-7' ? bomb.replace(/\[/g, '+AFs-').replace(/\]/g, '+AF0-') : bomb;
      const res = await api()
        .post('/api/messages')
        .set({ Authorization: `Bearer ${token}`, 'Content-Type': `application/json; charset=${charset}` })
        .send(Buffer.from(encoded, charset === 'utf-7' ? 'utf8' : 'utf16le'));

      expect(res.status).toBe(415);
      expect(res.body).toEqual({ statusCode: 415, error: 'Unsupported Media Type', message: 'JSON bodies must be UTF-8' });
    },
  );

  it("refuses a compressed body with 415 and a message of ours, not zlib's", async () => {
    const bogus = await post('not gzip at all', { 'Content-Encoding': 'gzip' });
    const real = await post(gzipSync(JSON.stringify({ message: 'hi', handle: bob.handle })).toString('latin1'), {
      'Content-Encoding': 'gzip',
    });

    for (const res of [bogus, real]) {
      expect(res.status).toBe(415);
      expect(res.body).toEqual({ statusCode: 415, error: 'Unsupported Media Type', message: 'Compressed request bodies are not accepted' });
    }
  });

  it('refuses a declared Content-Length over 64 KB at once, before the body is sent', async () => {
    const answer = await rawExchange(
      `POST /api/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n`,
    );

    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/connection: close/i);
    expect(answer).toContain('Request body is larger than 64 KB');
  });

  it('answers Expect: 100-continue for an oversized body with 413 instead of 100 Continue', async () => {
    const answer = await rawExchange(
      `POST /api/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n`,
    );

    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).not.toContain('100 Continue');
  });

  it('still takes a small body announced with Expect: 100-continue, after a 100 Continue', async () => {
    const body = JSON.stringify({ message: 'continue', handle: bob.handle });
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(
          `POST /api/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
        ),
      );
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        if (received === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write(body);
      });
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
    });

    expect(answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  });
});

describe('content types and URLs the router refuses', () => {
  it.each(['text/plain', 'application/xml', 'application/vnd.api+json'])('refuses a %s body with 415 and stores nothing', async (type) => {
    const before = (await stack.repository.listConversations(alice.uuid, { limit: 100 })).items.length;

    const res = await post(JSON.stringify({ message: 'typed', handle: bob.handle }), { 'Content-Type': type });

    expect(res.status).toBe(415);
    expect(res.body).toEqual({
      statusCode: 415,
      error: 'Unsupported Media Type',
      message: 'Request bodies must be JSON (application/json) or a form',
    });
    expect((await stack.repository.listConversations(alice.uuid, { limit: 100 })).items).toHaveLength(before);
  });

  it('refuses a path parameter over 100 characters with 414 and a message that does not quote it', async () => {
    const long = 'a'.repeat(101);

    const res = await api().get(`/api/messages/${long}`).set('Authorization', `Bearer ${token}`);

    expect(res.status).toBe(414);
    expect(res.body).toEqual({ statusCode: 414, error: 'Uri Too Long', message: 'A path parameter is longer than 100 characters' });
  });

  it('refuses a malformed percent-encoding in the path with 400 and a message that does not quote it', async () => {
    const res = await api().get('/api/messages/%E0%A4%A').set('Authorization', `Bearer ${token}`);

    expect(res.status).toBe(400);
    expect(res.text).not.toContain('%E0');
  });
});

describe('JSON bodies as clients write them', () => {
  it('takes a body that starts with a UTF-8 byte-order mark (.NET and PowerShell writers send one)', async () => {
    const res = await api()
      .post('/api/messages')
      .set({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' })
      .serialize((bytes: Buffer) => bytes as unknown as string) // the bytes as they are (superagent would JSON-encode a Buffer)
      .send(Buffer.from(`\uFEFF${JSON.stringify({ message: 'with a BOM', handle: bob.handle })}`));

    expect(res.body).toMatchObject({ message: 'with a BOM' });
    expect(res.status).toBe(200);
  });

  it.each([' ', '\n\t ', 'x'])('refuses the body %j with 400 (not a JSON object)', async (raw) => {
    const res = await post(raw);

    expect(res.status).toBe(400);
  });
});

describe('form bodies as Express took them', () => {
  it('takes a form in ISO-8859-1', async () => {
    const res = await api()
      .post('/api/messages')
      .set({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded; charset=iso-8859-1' })
      .serialize((bytes: Buffer) => bytes as unknown as string)
      .send(Buffer.from(`message=caf\u00e9&handle=${bob.handle}`, 'latin1'));

    expect(res.body).toMatchObject({ message: 'caf\u00e9' });
    expect(res.status).toBe(200);
  });

  it('refuses a form in another charset with 415', async () => {
    const res = await api()
      .post('/api/messages')
      .set({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-16' })
      .serialize((bytes: Buffer) => bytes as unknown as string)
      .send(Buffer.from(`message=hi&handle=${bob.handle}`, 'utf16le'));

    expect(res.status).toBe(415);
    expect(res.body.message).toBe('Form bodies must be UTF-8 or ISO-8859-1');
  });
});

describe('paths as Express took them', () => {
  it.each(['/api/message_groups/', '/API/Message_Groups', '/api/message_groups?limit=2'])(
    'routes %s as /api/message_groups',
    async (path) => {
      const res = await api().get(path).set('Authorization', `Bearer ${token}`);

      expect(res.status).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
    },
  );
});

describe('messages that only look like text', () => {
  it.each([
    ['zero-width spaces', '\u200b\u200b\u200b'],
    ['a Hangul filler', '\u3164'],
    ['a right-to-left override', '\u202e'],
    ['combining marks alone', '\u0301\u0308'],
    ['a byte-order mark and a word joiner', '\ufeff\u2060'],
    ['a braille blank', '\u2800'],
    ['control characters', '\u0001\u0002'],
  ])('refuses %s as message_blank', async (_, message) => {
    const res = await post({ message, handle: bob.handle });

    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual(['message_blank']);
  });

  it('keeps text that merely contains such characters', async () => {
    const res = await post({ message: 'e\u0301 \u200bok', handle: bob.handle });

    expect(res.status).toBe(200);
  });
});

describe('query values and ids', () => {
  it.each(['0x10', '1e1', '+5', ' 5', '5.0', '05x'])('refuses limit=%j with 400 limit_invalid', async (limit) => {
    const res = await api().get('/api/message_groups').query({ limit }).set('Authorization', `Bearer ${token}`);

    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(['limit_invalid']);
  });

  it('reads a conversation by its id in upper case as by its id', async () => {
    const { body: sent } = await post({ message: 'case', handle: bob.handle });
    const upper = String(sent.message_group_uuid).toUpperCase();

    const res = await api().get(`/api/messages/${upper}`).set('Authorization', `Bearer ${token}`);
    const reply = await post({ message: 'reply by upper-case id', message_group_uuid: upper });

    expect(res.status).toBe(200);
    expect(res.body.map((m: { message: string }) => m.message)).toContain('case');
    expect(reply.status).toBe(200);
    expect(reply.body.message_group_uuid).toBe(sent.message_group_uuid);
  });
});

describe('response headers', () => {
  it('marks private answers as not to be cached or sniffed', async () => {
    const res = await api().get('/api/message_groups').set('Authorization', `Bearer ${token}`);

    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('sends no ETag: an answer that is never stored has nothing to revalidate (and no body is hashed for it)', async () => {
    const res = await api().get('/api/message_groups').set('Authorization', `Bearer ${token}`);

    expect(res.status).toBe(200);
    expect(res.headers.etag).toBeUndefined();
  });
});

describe('server timeouts', () => {
  it('keeps idle connections open longer than the load balancer does', () => {
    const server = stack.app.getHttpServer();

    expect(server.keepAliveTimeout).toBe(TIMEOUTS.http.keepAliveMs);
    expect(server.keepAliveTimeout).toBeGreaterThan(TIMEOUTS.http.loadBalancerIdleSeconds * 1000);
    expect(server.headersTimeout).toBeGreaterThan(server.keepAliveTimeout);
    expect(server.requestTimeout).toBe(TIMEOUTS.http.requestMs);
  });
});
