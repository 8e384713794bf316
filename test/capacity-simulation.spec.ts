import { describe, expect, it } from '@jest/globals';
import { MeteringStore } from '../bench/simulation/metering-store.js';
import { PARTITION_LIMITS } from '../bench/simulation/prices.js';
import { shippedEventSource, simulate, unitsAtBatchSize } from '../bench/simulation/simulation.js';
import { DEFAULT_WORKLOAD, seededRandom, type WorkloadOptions } from '../bench/simulation/workload.js';
import { UNREAD_CAP } from '../src/dynamodb/messages.repository.js';

/*
 * The capacity simulation's targets on a small workload (the full run: `npm run simulate`): the
 * real stream handler and projector, batched as the shipped event source mapping batches, against
 * the metering store.
 */

const small: WorkloadOptions = {
  ...DEFAULT_WORKLOAD,
  users: 20_000,
  messagesPerDay: 30_000_000, // peak ≈ 700 messages/s
  durationS: 2,
  topConversations: 300,
  burst: 500,
  seed: 7,
};

describe('capacity simulation (small workload)', () => {
  it('keeps every partition under its limits with the shipped settings, and projects every conversation to its newest message', async () => {
    const store = new MeteringStore(seededRandom(1));
    const result = await simulate({ workload: small, eventSource: shippedEventSource(8), throttleRate: 0 }, store);

    expect(result.messages).toBeGreaterThan(1_000);
    expect(result.overLimit).toEqual([]);
    expect(result.lambda.discarded).toBe(0);
    for (const group of store.conversationIds()) expectProjected(store, group);
  });

  it('shows a deliberately hot setting over the limit: 30 users without rate limits, one projection per message', async () => {
    const hot: WorkloadOptions = {
      ...small,
      users: 30,
      topConversations: 300,
      messagesPerDay: 100_000_000, // ≈ 2,300 messages/s among 30 users
      durationS: 1,
      burst: 0,
      rateLimits: { messagesPerMinute: 1e9, newConversationsPerHour: 1e9 },
    };

    const result = await simulate({
      workload: hot,
      eventSource: { ...shippedEventSource(32), batchSize: 1, parallelizationFactor: 10 },
      throttleRate: 0,
    });

    expect(result.overLimit.length).toBeGreaterThan(0);
    expect(Math.max(...result.overLimit.map((l) => l.peak_wcu_s))).toBeGreaterThan(PARTITION_LIMITS.wcu_per_s);
  });

  it('retries throttled projections until every record is projected (per-shard order kept, nothing discarded)', async () => {
    const store = new MeteringStore(seededRandom(2));
    const result = await simulate(
      { workload: { ...small, durationS: 1, burst: 0 }, eventSource: shippedEventSource(4), throttleRate: 0.005 },
      store,
    );

    expect(result.throttled).toBeGreaterThan(0);
    expect(result.lambda.retries).toBeGreaterThan(0);
    expect(result.lambda.discarded).toBe(0);
    for (const group of store.conversationIds()) expectProjected(store, group);
  });

  it.each([
    [1, 12],
    [10, 1.2],
    [100, 0.12],
  ])('costs the projector the modelled write units per message at %i messages of a conversation per batch', async (k, model) => {
    const units = await unitsAtBatchSize(k, 5);

    expect(units.projector_wcu_per_message).toBeCloseTo(model, 2);
    expect(units.total_wcu_per_message).toBeCloseTo(model + 1, 2);
  });
});

/** Both members' items and list items show the conversation's newest message and the unread count the data gives. */
function expectProjected(store: MeteringStore, group: string): void {
  const newest = store.newestMessageOf(group)!;
  const members = store.membersOfConversation(group);
  expect(members).toHaveLength(2);
  for (const member of members) {
    expect({ group, last_reply_at: member.last_reply_at, pending: member.pending ?? false, group_sk: member.group_sk }).toEqual({
      group,
      last_reply_at: newest.sk,
      pending: false,
      group_sk: newest.sk,
    });
    const unread = store
      .messagesOf(group)
      .filter((m) => (member.last_read_at === undefined || m.sk > member.last_read_at) && m.user_uuid !== member.owner_user_uuid).length;
    expect(member.unread_count ?? 0).toBe(Math.min(unread, UNREAD_CAP));
    const listItem = store.listItemsOfConversation(group).filter((item) => item.owner_user_uuid === member.owner_user_uuid);
    expect(listItem.map((item) => [item.last_reply_at, item.unread_count ?? 0])).toEqual([[newest.sk, member.unread_count ?? 0]]);
  }
}
