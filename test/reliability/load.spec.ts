import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { ApiClient, ApiResponse } from './api-client.js';
import { ReliabilityFigures } from './figures.js';
import { ServiceStack, type StackUser as TestUser } from './service-stack.js';
import { auditTable, settledTableProblems, type TableAudit } from './table-audit.js';
import type { CreatedMessageView } from '../../src/messages/dto/message.views.js';

/*
 * Load (issue 6, reliability 1): 200 concurrent senders across 20 conversations send 5,000
 * messages through the real HTTP API, with the change-capture emulator projecting as they go.
 * Ten users, each in four conversations (the circulant graph i~i±1, i~i±2), so every member's
 * conversation list holds several conversations that move concurrently. Every sender opens with a
 * message by handle (pattern C: ten first messages race for each conversation), then replies by
 * message_group_uuid (pattern D); every tenth message carries an Idempotency-Key and is sent twice.
 */
const USERS = 10;
const SENDERS_PER_CONVERSATION = 10;
const MESSAGES_PER_SENDER = Number(process.env.LOAD_MPS ?? 25);
const IDEMPOTENT_EVERY = 10;

const figures = new ReliabilityFigures('load');
let stack: ServiceStack;
let api: ApiClient;
let users: TestUser[];
const tokens = new Map<string, string>();
const conversations: [TestUser, TestUser][] = [];

beforeAll(async () => {
  stack = await ServiceStack.start();
  api = stack.api;
  users = await Promise.all(Array.from({ length: USERS }, (_, i) => stack.createUser(`load${i}_${randomUUID().slice(0, 6)}`)));
  for (const user of users) tokens.set(user.uuid, await stack.accessToken(user));
  for (let i = 0; i < USERS; i++) for (const step of [1, 2]) conversations.push([users[i], users[(i + step) % USERS]]);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  figures.print();
});

/** One sender: its first message by handle, then replies in the conversation that answered. */
async function sender(conversation: number, index: number, sent: CreatedMessageView[], failures: ApiResponse[]): Promise<void> {
  const [a, b] = conversations[conversation];
  const [me, other] = index % 2 ? [b, a] : [a, b];
  let group: string | undefined;
  for (let i = 0; i < MESSAGES_PER_SENDER; i++) {
    const message = `c${conversation} s${index} #${i}`;
    const body = group ? { message, message_group_uuid: group } : { message, handle: other.handle };
    const idempotent = i % IDEMPOTENT_EVERY === IDEMPOTENT_EVERY - 1;
    const headers: Record<string, string> = idempotent ? { 'idempotency-key': `load-${conversation}-${index}-${i}` } : {};
    const res = await api.post('/api/messages', tokens.get(me.uuid), body, headers);
    if (res.status !== 200) {
      failures.push(res);
      continue;
    }
    const created = res.body as CreatedMessageView;
    sent.push(created);
    group ??= created.message_group_uuid;
    if (idempotent) {
      const again = await api.post('/api/messages', tokens.get(me.uuid), body, headers);
      figures.add('requests', 'idempotent retries');
      if (again.status !== 200 || (again.body as CreatedMessageView).uuid !== created.uuid) failures.push(again);
    }
  }
}

describe('200 concurrent senders, 20 conversations, 5,000 messages', () => {
  const sent: CreatedMessageView[] = [];
  const failures: ApiResponse[] = [];
  let audit: TableAudit;
  let projectorLogs: Record<string, number>;

  beforeAll(async () => {
    const started = performance.now();
    await Promise.all(
      conversations.flatMap((_, c) => Array.from({ length: SENDERS_PER_CONVERSATION }, (__, s) => sender(c, s, sent, failures))),
    );
    const sendSeconds = (performance.now() - started) / 1000;
    await stack.drain();
    audit = await auditTable(stack.repository);
    projectorLogs = (await stack.stats()).logged;
    figures.add('messages', 'senders', conversations.length * SENDERS_PER_CONVERSATION);
    figures.add('messages', 'conversations', conversations.length);
    figures.add('messages', 'acknowledged', sent.length);
    figures.add('messages', 'stored', audit.messages.length);
    figures.add('requests', 'POST', api.requests);
    figures.add('requests', 'per second', Math.round(api.requests / sendSeconds));
    figures.add('requests', '5xx', api.countStatus(500, 599));
  }, 120_000);

  it('answers every POST with 200 (no 5xx, no retry returning another message)', () => {
    expect(failures.map((f) => `${f.status} ${f.text}`)).toEqual([]);
    expect(sent).toHaveLength(conversations.length * SENDERS_PER_CONVERSATION * MESSAGES_PER_SENDER);
  });

  it('lands all first messages of a pair in one conversation', () => {
    const groups = new Set(sent.map((s) => s.message_group_uuid));

    expect(groups.size).toBe(conversations.length);
  });

  it('stores every message exactly once, as it was answered', () => {
    const stored = new Map(audit.messages.map((m) => [m.message_uuid, m]));
    const lost = sent.filter((s) => stored.get(s.uuid)?.sk !== s.created_at || stored.get(s.uuid)?.message !== s.message);
    const unanswered = audit.messages.filter((m) => !sent.some((s) => s.uuid === m.message_uuid));
    figures.set('losses', 'lost', lost.length);
    figures.set('losses', 'duplicated or unanswered', audit.messages.length - sent.length + unanswered.length);

    expect(lost).toEqual([]);
    expect(unanswered).toEqual([]);
    expect(audit.messages).toHaveLength(sent.length);
  });

  it("converges every member's group item to its conversation's newest message, one per member", () => {
    const problems = settledTableProblems(audit);
    figures.set('losses', 'unconverged group items', problems.length);

    expect(problems).toEqual([]);
    expect(audit.groups).toHaveLength(conversations.length * 2);
    expect(projectorLogs).toEqual({});
  });

  it('shows each user exactly their four conversations, latest reply first', async () => {
    const newest = newestByConversation(sent);

    for (const user of users) {
      const res = await api.get('/api/message_groups?limit=100', tokens.get(user.uuid));
      const expected = conversations
        .map((pair, c) => ({ pair, last: newest[c] }))
        .filter(({ pair }) => pair.includes(user))
        .sort((x, y) => (x.last.created_at < y.last.created_at ? 1 : -1))
        .map(({ pair, last }) => ({
          uuid: last.message_group_uuid,
          handle: (pair[0] === user ? pair[1] : pair[0]).handle,
          message: last.message,
          created_at: last.created_at,
        }));

      expect(res.status).toBe(200);
      expect(
        (res.body as Record<string, string>[]).map(({ uuid, handle, message, created_at }) => ({ uuid, handle, message, created_at })),
      ).toEqual(expected);
    }
  });

  it('pages through every conversation through the API without a gap or a repeat', async () => {
    let pages = 0;
    for (const [c, [member]] of conversations.entries()) {
      const mine = sent.filter((s) => conversationIndex(s) === c).sort((x, y) => (x.created_at < y.created_at ? -1 : 1));
      const group = mine[0].message_group_uuid;
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const res = await api.get(
          `/api/messages/${group}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          tokens.get(member.uuid),
        );
        expect(res.status).toBe(200);
        seen.unshift(...(res.body as { uuid: string }[]).map((m) => m.uuid));
        cursor = res.headers['x-next-cursor'] as string | undefined;
        pages++;
      } while (cursor);

      expect(seen).toEqual(mine.map((s) => s.uuid));
    }
    figures.add('requests', 'pages read', pages);
  });
});

/** The conversation a sent message belongs to (its text names it). */
function conversationIndex(s: CreatedMessageView): number {
  return Number(/^c(\d+) /.exec(s.message)![1]);
}

/** The newest message of each conversation, by conversation index. */
function newestByConversation(sent: CreatedMessageView[]): CreatedMessageView[] {
  const newest: CreatedMessageView[] = [];
  for (const s of sent) {
    const c = conversationIndex(s);
    if (!newest[c] || s.created_at > newest[c].created_at) newest[c] = s;
  }
  return newest;
}
