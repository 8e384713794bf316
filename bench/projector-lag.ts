import { performance } from 'node:perf_hooks';
import type { ApiClient } from './api-client.js';
import { Latencies, round3 } from './load.js';
import { BenchError } from './processes.js';
import type { RawAccess } from './raw.js';

export interface ProjectorLag {
  p50: number;
  p99: number;
  max: number;
  messages: number;
  /** The resolution of the measurement: one poll's round trip to dynalite (p50). */
  poll_rtt_p50_ms: number;
}

const GIVE_UP_MS = 10_000;

/**
 * Projector lag as a reader sees it: for each of `count` messages POSTed one after another, the time
 * from the POST's response to the moment a Query of the conversation's group items (the GSI, from
 * this process, polled back to back) shows the message on both members' items.
 */
export async function measureProjectorLag(
  api: ApiClient,
  token: string,
  group: string,
  raw: RawAccess,
  count: number,
): Promise<ProjectorLag> {
  const lags = new Latencies();
  const polls = new Latencies();
  for (let i = 0; i < count; i++) {
    const message = `projector lag probe ${i} ${Date.now()}`;
    const { respondedAt } = await api.postMessage(token, { message, message_group_uuid: group });
    for (;;) {
      const t0 = performance.now();
      const { Items = [] } = await raw.conversationMembers(group);
      const now = performance.now();
      polls.record(now - t0);
      const owners = new Set(Items.map((item) => item.pk?.S));
      const showing = new Set(Items.filter((item) => item.message?.S === message).map((item) => item.pk?.S));
      if (owners.size > 0 && showing.size === owners.size) {
        lags.record(now - respondedAt);
        break;
      }
      if (now - respondedAt > GIVE_UP_MS) throw new BenchError(`projector lag: message ${i} not projected after ${GIVE_UP_MS / 1000} s`);
    }
  }
  return {
    p50: lags.percentile(50),
    p99: lags.percentile(99),
    max: lags.percentile(100),
    messages: count,
    poll_rtt_p50_ms: round3(polls.percentile(50)),
  };
}
