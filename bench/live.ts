import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parseEventBlock } from '../tools/live/event-stream.js';
import { ApiClient } from './api-client.js';
import { readRss } from './memory.js';
import type { BenchChild } from './processes.js';
import type { BenchUser } from './stack.js';

/*
 * `npm run bench -- --live`: S concurrent event streams on one API process. Measures the RSS the
 * idle streams add (per 1,000), then sends messages at a steady rate through the API and measures
 * POST → `message` event latency on every stream that must get it, and counts lost and duplicated
 * deliveries. The change-capture emulator is the stream consumer that publishes (in process bus).
 */

export interface LivePlan {
  streams: number;
  /** Users holding the streams (each gets streams / receivers of them). */
  receivers: number;
  messagesPerSecond: number;
  durationS: number;
}

export interface LiveResult {
  streams: number;
  receivers: number;
  messages: number;
  messagesPerSecond: number;
  expectedDeliveries: number;
  delivered: number;
  lost: number;
  duplicated: number;
  latencyMs: { p50: number; p99: number; max: number };
  rss: { beforeMb: number; idleMb: number; perThousandIdleStreamsMb: number };
  heap: { beforeMb: number; idleMb: number };
  openS: number;
}

interface Stream {
  user: string;
  req: ClientRequest;
  res?: IncomingMessage;
  seen: Map<string, number>;
}

/** Opens one stream; resolves on its first event (the id and retry advice). */
function openStream(port: number, user: BenchUser, onMessage: (stream: Stream, uuid: string) => void): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/api/events',
      headers: { Authorization: `Bearer ${user.token}`, Accept: 'text/event-stream' },
      agent: false,
    });
    const stream: Stream = { user: user.uuid, req, seen: new Map() };
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) return reject(new Error(`GET /api/events: ${res.statusCode}`));
      stream.res = res;
      res.setEncoding('utf8');
      let buffer = '';
      let first = true;
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = parseEventBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (first && block.retry !== undefined) {
            first = false;
            resolve(stream);
          }
          if (block.type !== 'message' || block.data === undefined) continue;
          onMessage(stream, (JSON.parse(block.data) as { uuid: string }).uuid);
        }
      });
    });
    req.end();
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function measureLive(
  api: BenchChild,
  sender: BenchUser,
  receivers: BenchUser[],
  plan: LivePlan,
  log: (line: string) => void,
): Promise<LiveResult> {
  const client = new ApiClient(`http://127.0.0.1:${api.port}`);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let delivered = 0;
  let duplicated = 0;
  const onMessage = (stream: Stream, uuid: string) => {
    const count = (stream.seen.get(uuid) ?? 0) + 1;
    stream.seen.set(uuid, count);
    if (count > 1) {
      duplicated++;
      return;
    }
    delivered++;
    const at = sentAt.get(uuid);
    if (at !== undefined) latencies.push(performance.now() - at);
  };

  const memory = () => api.request<NodeJS.MemoryUsage>('memory', { gc: true });
  // Conversations first (one message each, before any stream), so the run measures replies only.
  const groups: string[] = [];
  for (const receiver of receivers)
    groups.push((await client.postMessage(sender.token, { message: 'start', handle: receiver.handle })).created.message_group_uuid);
  await api.request('drain');
  await memory();
  const before = readRss(api.pid).rssMb;
  const heapBefore = (await memory()).heapUsed / 2 ** 20;

  const openedAt = performance.now();
  const streams: Stream[] = [];
  const perReceiver = Math.ceil(plan.streams / receivers.length);
  for (let i = 0; i < plan.streams; i += 100) {
    const batch = Array.from({ length: Math.min(100, plan.streams - i) }, (_, j) => receivers[Math.floor((i + j) / perReceiver)]);
    streams.push(...(await Promise.all(batch.map((user) => openStream(api.port, user, onMessage)))));
  }
  const openS = (performance.now() - openedAt) / 1000;
  await memory();
  await delay(1_000); // idle: nothing but the streams (RSS settles after the last accepts)
  await memory();
  const idle = readRss(api.pid).rssMb;
  const heapIdle = (await memory()).heapUsed / 2 ** 20;
  log(`live: ${plan.streams} streams open in ${openS.toFixed(1)} s; RSS ${before.toFixed(0)} → ${idle.toFixed(0)} MB`);

  const streamsOf = new Map<string, number>();
  for (const s of streams) streamsOf.set(s.user, (streamsOf.get(s.user) ?? 0) + 1);
  const total = Math.round(plan.messagesPerSecond * plan.durationS);
  let expected = 0;
  const started = performance.now();
  const posts: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / plan.messagesPerSecond;
    const wait = due - performance.now();
    if (wait > 0) await delay(wait);
    const r = i % receivers.length;
    expected += streamsOf.get(receivers[r].uuid) ?? 0;
    const t0 = performance.now();
    posts.push(
      client.postMessage(sender.token, { message: `live ${i}`, message_group_uuid: groups[r] }).then(({ created: m }) => {
        sentAt.set(m.uuid, t0);
      }),
    );
  }
  await Promise.all(posts);
  // Until every delivery is in, or 10 s of nothing more.
  let last = delivered;
  for (let quiet = 0; delivered < expected && quiet < 20;) {
    await delay(500);
    quiet = delivered === last ? quiet + 1 : 0;
    last = delivered;
  }
  for (const s of streams) {
    s.req.destroy();
    s.res?.destroy();
  }
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    streams: plan.streams,
    receivers: receivers.length,
    messages: total,
    messagesPerSecond: plan.messagesPerSecond,
    expectedDeliveries: expected,
    delivered,
    lost: expected - delivered,
    duplicated,
    latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1) ?? NaN) },
    rss: { beforeMb: round(before), idleMb: round(idle), perThousandIdleStreamsMb: round(((idle - before) * 1000) / plan.streams) },
    heap: { beforeMb: round(heapBefore), idleMb: round(heapIdle) },
    openS: round(openS),
  };
}
