import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { StreamHandler } from '../../src/stream/stream.handler.js';
import { MESSAGE_PREFIX } from '../../src/dynamodb/message.entities.js';
import type { MeteringStore, SimMessage } from './metering-store.js';

/*
 * An emulation of Lambda's event source mapping on a DynamoDB stream, in simulated time: records
 * are spread over shards by partition key (as DynamoDB does: a conversation's messages are one
 * shard's, in order); each shard (times the parallelization factor, records of one key staying in
 * one lane) delivers a batch when `batchSize` records are there or `windowS` after the first one,
 * never before its previous invocation has finished; a batch with failures is retried from its
 * lowest failed record (ReportBatchItemFailures; a thrown handler fails every record), and a record
 * that failed `retryAttempts` retries goes to the on-failure destination (counted as discarded).
 */

export interface EventSourceSettings {
  shards: number;
  batchSize: number;
  windowS: number;
  retryAttempts: number;
  parallelizationFactor: number;
}

/** How long an invocation takes, estimated from the requests it made (nothing here waits). */
export interface DurationModel {
  /** Per invocation: the runtime's overhead and the batch's parsing. */
  invocationMs: number;
  /** Per DynamoDB request, one after the other (in-region latency). */
  requestMs: number;
  /** The handler projects this many conversations at once (src/stream/stream.handler.ts). */
  conversationConcurrency: number;
}

export const DEFAULT_DURATION_MODEL: DurationModel = { invocationMs: 5, requestMs: 5, conversationConcurrency: 8 };

export interface InvocationStats {
  invocations: number;
  records: number;
  /** Records per invocation, by size (1, 2–9, 10–99, 100+). */
  batchSizes: Record<string, number>;
  failedRecords: number;
  retries: number;
  /** Records sent to the on-failure destination after their retries. */
  discarded: number;
  totalDurationMs: number;
  maxDurationMs: number;
  /** The oldest record's age when its batch started, in seconds (the iterator age). */
  maxIteratorAgeS: number;
}

interface Pending {
  at: number;
  record: DynamoDBRecord;
  attempts: number;
}

interface Lane {
  queue: Pending[];
  head: number;
  freeAt: number;
}

export class EventSourceEmulation {
  private readonly lanes: Lane[];
  private sequence = 0;
  readonly stats: InvocationStats = {
    invocations: 0,
    records: 0,
    batchSizes: { '1': 0, '2-9': 0, '10-99': 0, '100+': 0 },
    failedRecords: 0,
    retries: 0,
    discarded: 0,
    totalDurationMs: 0,
    maxDurationMs: 0,
    maxIteratorAgeS: 0,
  };

  constructor(
    private readonly handler: StreamHandler,
    private readonly store: MeteringStore,
    readonly settings: EventSourceSettings,
    private readonly duration: DurationModel = DEFAULT_DURATION_MODEL,
  ) {
    this.lanes = Array.from({ length: settings.shards * settings.parallelizationFactor }, () => ({ queue: [], head: 0, freeAt: 0 }));
  }

  /** A message item written at `at` (seconds): its INSERT record enters its shard's lane. */
  add(at: number, message: SimMessage): void {
    const pk = MESSAGE_PREFIX + message.message_group_uuid;
    const hash = hashOf(pk);
    const shard = hash % this.settings.shards;
    const lane =
      shard * this.settings.parallelizationFactor + (Math.floor(hash / this.settings.shards) % this.settings.parallelizationFactor);
    const { message_group_uuid: _group, created_at, ...attributes } = message;
    const sequence = String(++this.sequence).padStart(21, '0');
    this.lanes[lane].queue.push({
      at,
      attempts: 0,
      record: {
        eventID: sequence,
        eventName: 'INSERT',
        eventSource: 'aws:dynamodb',
        eventSourceARN: `arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/stream/sim/shard-${shard}`,
        dynamodb: {
          Keys: { pk: { S: pk }, sk: { S: created_at } },
          NewImage: marshall({ pk, sk: created_at, ...attributes, __edb_e__: 'message', __edb_v__: '1' }) as never,
          SequenceNumber: sequence,
          StreamViewType: 'NEW_IMAGE',
        },
      },
    });
  }

  /** Delivers every batch that starts before `until` (seconds), in time order across lanes. */
  async run(until = Number.POSITIVE_INFINITY): Promise<void> {
    for (;;) {
      let next: { lane: Lane; start: number } | undefined;
      for (const lane of this.lanes) {
        const start = this.batchStart(lane);
        if (start !== undefined && start < until && (!next || start < next.start)) next = { lane, start };
      }
      if (!next) return;
      await this.invoke(next.lane, next.start);
    }
  }

  /** When the lane's next batch is delivered: full, or the window after its first record, not before it is free. */
  private batchStart(lane: Lane): number | undefined {
    if (lane.head >= lane.queue.length) {
      if (lane.head > 0) {
        lane.queue = [];
        lane.head = 0;
      }
      return undefined;
    }
    const first = lane.queue[lane.head];
    // A batch is retried as soon as the lane is free.
    if (first.attempts > 0) return lane.freeAt;
    const fullAt = lane.queue[lane.head + this.settings.batchSize - 1]?.at ?? Number.POSITIVE_INFINITY;
    return Math.max(lane.freeAt, Math.min(first.at + this.settings.windowS, fullAt));
  }

  private async invoke(lane: Lane, start: number): Promise<void> {
    const batch: Pending[] = [];
    for (let i = lane.head; i < lane.queue.length && batch.length < this.settings.batchSize && lane.queue[i].at <= start; i++) {
      batch.push(lane.queue[i]);
    }
    this.store.now = start;
    this.store.payer = 'projector';
    const requestsBefore = this.store.totals.projector.requests;
    let failed: Set<string>;
    try {
      const response = await this.handler({ Records: batch.map((p) => p.record) });
      failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    } catch {
      failed = new Set(batch.map((p) => p.record.dynamodb!.SequenceNumber!));
    }
    const requests = this.store.totals.projector.requests - requestsBefore;
    const conversations = new Set(batch.map((p) => p.record.dynamodb!.Keys!.pk.S)).size;
    const durationMs = this.estimateMs(requests, conversations);

    const s = this.stats;
    s.invocations++;
    s.records += batch.length;
    s.batchSizes[batch.length === 1 ? '1' : batch.length < 10 ? '2-9' : batch.length < 100 ? '10-99' : '100+']++;
    s.totalDurationMs += durationMs;
    s.maxDurationMs = Math.max(s.maxDurationMs, durationMs);
    s.maxIteratorAgeS = Math.max(s.maxIteratorAgeS, start - batch[0].at);
    lane.freeAt = start + durationMs / 1000;

    const firstFailed = batch.findIndex((p) => failed.has(p.record.dynamodb!.SequenceNumber!));
    if (firstFailed < 0) {
      lane.head += batch.length;
      return;
    }
    s.failedRecords += failed.size;
    lane.head += firstFailed; // checkpointed up to the lowest failure
    const retried = lane.queue[lane.head];
    if (retried.attempts >= this.settings.retryAttempts) {
      s.discarded++; // to the on-failure destination; the rest of the batch goes on
      lane.head++;
      return;
    }
    s.retries++;
    for (const p of batch) if (failed.has(p.record.dynamodb!.SequenceNumber!)) p.attempts++;
    // The retry goes as soon as the lane is free (its first record is a failed one).
  }

  /**
   * Conversations run `conversationConcurrency` at a time; each projection's requests are about
   * half sequential (the two members go in parallel).
   */
  private estimateMs(requests: number, conversations: number): number {
    const { invocationMs, requestMs, conversationConcurrency } = this.duration;
    if (conversations === 0) return invocationMs;
    const perConversation = requests / conversations;
    const sequential = 1 + Math.max(0, perConversation - 1) / 2;
    return invocationMs + Math.ceil(conversations / conversationConcurrency) * sequential * requestMs;
  }
}

/** FNV-1a: spreads partition keys over shards as evenly as a hash does. */
function hashOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
