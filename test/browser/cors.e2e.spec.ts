import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { ChangeCaptureEmulator } from '../../src/stream/change-capture.emulator.js';
import { startApiStack, type ApiStack, type TestUser } from '../support/api-stack.js';

/*
 * A real browser (Debian's chromium, driven by playwright-core) on a page of another origin calls
 * the API the way the Cruddur web app does: with a bearer token, reading X-Next-Cursor to page, and
 * posting JSON with an Idempotency-Key. The browser enforces CORS itself: preflights, allowed and
 * exposed headers. A page of an origin not in CORS_ORIGINS gets nothing.
 */
const CHROMIUM = '/usr/bin/chromium';
/** Flags for a headless chromium on a machine without network or GPU (see .ci/run). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let stack: ApiStack;
let api: string;
let pages: Server;
let allowedOrigin: string;
let otherOrigin: string;
let browser: Browser;
let alice: TestUser;
let bob: TestUser;
let token: string;
let group: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as .ci/run does`);
  pages = createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>Cruddur</title><p>page</p>'),
  );
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  const pagePort = (pages.address() as AddressInfo).port;
  // One page server, two origins: the browser tells them apart by host name.
  allowedOrigin = `http://localhost:${pagePort}`;
  otherOrigin = `http://127.0.0.1:${pagePort}`;
  stack = await startApiStack({ env: { CORS_ORIGINS: allowedOrigin } });
  await stack.app.listen(0, '127.0.0.1');
  api = `http://127.0.0.1:${(stack.app.getHttpServer().address() as AddressInfo).port}/api`;
  [alice, bob] = await Promise.all([stack.createUser(), stack.createUser()]);
  token = await stack.accessToken(alice);
  for (const message of ['one', 'two', 'three']) {
    const res = await request(stack.app.getHttpServer())
      .post('/api/messages')
      .set('Authorization', `Bearer ${token}`)
      .send({ message, handle: bob.handle });
    group = res.body.message_group_uuid;
  }
  await stack.app.get(ChangeCaptureEmulator).drain();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await new Promise((resolve) => pages?.close(resolve));
});

async function pageAt(origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  return page;
}

interface Seen {
  status: number;
  body: unknown;
  next: string | null;
}

/** fetch() inside the page: what the page's script can see of the answer, or the error it gets. */
function fetchInPage(
  page: Page,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Seen | { error: string }> {
  return page.evaluate(
    async ({ url, init }) => {
      try {
        const res = await fetch(url, init);
        return { status: res.status, body: await res.json(), next: res.headers.get('X-Next-Cursor') };
      } catch (error) {
        return { error: String(error) };
      }
    },
    { url, init },
  );
}

describe('the API called from a browser page on another origin', () => {
  it("lists the caller's conversations", async () => {
    const page = await pageAt(allowedOrigin);

    const seen = await fetchInPage(page, `${api}/message_groups`, { headers: { Authorization: `Bearer ${token}` } });

    expect(seen).toMatchObject({ status: 200, body: [{ uuid: group, handle: bob.handle, message: 'three' }] });
  });

  it('pages through a conversation with the X-Next-Cursor header', async () => {
    const page = await pageAt(allowedOrigin);
    const headers = { Authorization: `Bearer ${token}` };

    const first = (await fetchInPage(page, `${api}/messages/${group}?limit=2`, { headers })) as Seen;
    const second = (await fetchInPage(page, `${api}/messages/${group}?limit=2&cursor=${encodeURIComponent(first.next ?? '')}`, {
      headers,
    })) as Seen;

    expect(first).toMatchObject({ status: 200, body: [{ message: 'two' }, { message: 'three' }], next: expect.any(String) });
    expect(second).toMatchObject({ status: 200, body: [{ message: 'one' }], next: null });
  });

  it('posts a message as JSON with an Idempotency-Key (a preflighted request)', async () => {
    const page = await pageAt(allowedOrigin);
    const post = () =>
      fetchInPage(page, `${api}/messages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': 'browser-post-1' },
        body: JSON.stringify({ message: 'from the browser', message_group_uuid: group }),
      });

    const first = (await post()) as Seen;
    const retry = (await post()) as Seen;

    expect(first).toMatchObject({ status: 200, body: { message: 'from the browser', message_group_uuid: group } });
    expect(retry.body).toEqual(first.body);
  });

  it('reads the error body of a refusal (a 4xx carries the CORS headers too)', async () => {
    const page = await pageAt(allowedOrigin);

    const seen = await fetchInPage(page, `${api}/message_groups?limit=0`, { headers: { Authorization: `Bearer ${token}` } });

    expect(seen).toMatchObject({ status: 400, body: { errors: ['limit_invalid'] } });
  });

  it('gives a page of an origin not allowed nothing at all', async () => {
    const page = await pageAt(otherOrigin);

    const seen = await fetchInPage(page, `${api}/message_groups`, { headers: { Authorization: `Bearer ${token}` } });

    expect(seen).toEqual({ error: expect.stringMatching(/Failed to fetch/) });
  });
});

describe('the preflight answer', () => {
  it('allows the three request headers, exposes the cursor and is cached for ten minutes', async () => {
    const res = await request(stack.app.getHttpServer()).options('/api/messages').set({
      Origin: allowedOrigin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,content-type,idempotency-key',
    });

    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(allowedOrigin);
    expect(res.headers['access-control-allow-headers']?.toLowerCase().split(',')).toEqual([
      'authorization',
      'content-type',
      'idempotency-key',
    ]);
    expect(res.headers['access-control-max-age']).toBe('600');
  });

  it('answers an OPTIONS request that is no preflight (no Origin or no method) without an error', async () => {
    const bare = await request(stack.app.getHttpServer()).options('/api/messages');
    const noMethod = await request(stack.app.getHttpServer()).options('/api/messages').set({ Origin: allowedOrigin });

    expect(bare.status).toBe(204);
    expect(noMethod.status).toBe(204);
  });

  it('exposes X-Next-Cursor and Retry-After on answers', async () => {
    const res = await request(stack.app.getHttpServer())
      .get('/api/message_groups')
      .set({ Origin: allowedOrigin, Authorization: `Bearer ${token}` });

    expect(res.headers['access-control-expose-headers']).toBe('X-Next-Cursor,Retry-After');
  });
});
