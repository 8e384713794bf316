import { Logger } from '@aws-lambda-powertools/logger';
import { PROJECTOR_SETTINGS } from '../../infra/stream-projector.settings.js';
import { createStreamHandler } from '../../src/stream/stream.handler.js';
import { formatTimestamp } from '../../src/dynamodb/timestamp.js';
import { DEFAULT_DURATION_MODEL, EventSourceEmulation, type EventSourceSettings, type InvocationStats } from './event-source.js';
import { MeteringStore, type PartitionLoad, type SimMessage, type UnitTotals } from './metering-store.js';
import { PARTITION_LIMITS } from './prices.js';
import { WINDOW_PEAK_MICROS, generateWorkload, participant, seededRandom, type WorkloadMessage, type WorkloadOptions } from './workload.js';

/*
 * Replays a workload through the real stream handler and projector (src/stream) against the
 * metering store, batched as the shipped event source mapping batches (infra/stream-projector.settings.ts).
 */

/** The shipped settings, and the stream's shards (about one per table partition). */
export function shippedEventSource(shards: number): EventSourceSettings {
  return {
    shards,
    batchSize: PROJECTOR_SETTINGS.batchSize,
    windowS: PROJECTOR_SETTINGS.maxBatchingWindowSeconds,
    retryAttempts: PROJECTOR_SETTINGS.retryAttempts,
    parallelizationFactor: PROJECTOR_SETTINGS.parallelizationFactor,
  };
}

export interface SimulationOptions {
  workload: WorkloadOptions;
  eventSource: EventSourceSettings;
  /** Fraction of DynamoDB requests the store fails with a throttle (exercises retries). */
  throttleRate: number;
}

export interface SimulationResult {
  messages: number;
  firstMessages: number;
  /** Messages the API's per-user rate limits refused (not written). */
  refused: number;
  conversations: number;
  simulatedS: number;
  totals: { api: UnitTotals; projector: UnitTotals };
  /** Hottest partitions of each kind, by peak write units per second, then by peak read units. */
  hottest: { writes: Record<string, PartitionLoad[]>; reads: Record<string, PartitionLoad[]> };
  /** Partitions whose peak second went over DynamoDB's per-partition limits. */
  overLimit: PartitionLoad[];
  lambda: InvocationStats;
  throttled: number;
  wallS: number;
}

const silent = new Logger({ serviceName: 'capacity-simulation', logLevel: 'SILENT' });

export async function simulate(
  options: SimulationOptions,
  store = new MeteringStore(seededRandom(options.workload.seed + 1)),
): Promise<SimulationResult> {
  const started = Date.now();
  store.throttleRate = options.throttleRate;
  const handler = createStreamHandler({ repository: store, logger: silent });
  const emulation = new EventSourceEmulation(handler, store, options.eventSource, DEFAULT_DURATION_MODEL);
  const seedRandom = seededRandom(options.workload.seed + 2);
  let messages = 0;
  let firstMessages = 0;
  let second = 1;
  const write = (m: WorkloadMessage) => {
    store.now = m.at;
    store.payer = 'api';
    const throttle = store.throttleRate;
    store.throttleRate = 0; // the API's own writes are not what is measured for retries
    if (m.first) {
      seedNewConversation(store, m);
      firstMessages++;
    } else if (!store.hasConversation(m.message_group_uuid)) seedExistingConversation(store, m, seedRandom);
    const message: SimMessage = {
      message_group_uuid: m.message_group_uuid,
      created_at: m.created_at,
      message_uuid: m.message_uuid,
      message: m.message,
      user_uuid: m.sender.uuid,
      user_display_name: m.sender.display_name,
      user_handle: m.sender.handle,
    };
    store.putMessage(message);
    store.throttleRate = throttle;
    emulation.add(m.at, message);
    messages++;
  };
  const workload = generateWorkload(options.workload);
  let refused: number;
  for (;;) {
    const next = workload.next();
    if (next.done) {
      refused = next.value;
      break;
    }
    // Batches are delivered a simulated second at a time, after every record of that second is in.
    while (next.value.at >= second) await emulation.run(second++);
    write(next.value);
  }
  await emulation.run();

  const loads = store.partitionLoads();
  const kinds = ['MSG#', 'GRP#', 'index'] as const;
  const top = (by: (l: PartitionLoad) => number) =>
    Object.fromEntries(
      kinds.map((kind) => [
        kind,
        loads
          .filter((l) => l.kind === kind)
          .sort((a, b) => by(b) - by(a))
          .slice(0, 5),
      ]),
    );
  return {
    messages,
    firstMessages,
    refused,
    conversations: store.conversationIds().length,
    simulatedS: options.workload.durationS,
    totals: { api: { ...store.totals.api }, projector: { ...store.totals.projector } },
    hottest: { writes: top((l) => l.peak_wcu_s), reads: top((l) => l.peak_rcu_s) },
    overLimit: loads.filter((l) => l.peak_wcu_s > PARTITION_LIMITS.wcu_per_s || l.peak_rcu_s > PARTITION_LIMITS.rcu_per_s),
    lambda: emulation.stats,
    throttled: store.throttled,
    wallS: (Date.now() - started) / 1000,
  };
}

/** Pattern C: the API writes both member items before the first message (billed to the API). */
function seedNewConversation(store: MeteringStore, m: WorkloadMessage): void {
  for (const [owner, other] of [
    [m.sender, m.recipient],
    [m.recipient, m.sender],
  ]) {
    void store.putMember({
      message_group_uuid: m.message_group_uuid,
      owner_user_uuid: owner.uuid,
      user_uuid: other.uuid,
      user_display_name: other.display_name,
      user_handle: other.handle,
    });
  }
}

/**
 * A conversation from before the window: both members' items and list items at an earlier
 * message, both read up to it (not metered: it is the table as the window finds it).
 */
function seedExistingConversation(store: MeteringStore, m: WorkloadMessage, random: () => number): void {
  const earlier = formatTimestamp(WINDOW_PEAK_MICROS - Math.floor((3600 + random() * 86_400 * 7) * 1e6));
  store.storeMessage(m.message_group_uuid, { sk: earlier, user_uuid: m.recipient.uuid, size: 200 });
  for (const [owner, other] of [
    [m.sender, m.recipient],
    [m.recipient, m.sender],
  ]) {
    const shown = { user_uuid: other.uuid, user_display_name: other.display_name, user_handle: other.handle };
    store.storeMember({
      message_group_uuid: m.message_group_uuid,
      owner_user_uuid: owner.uuid,
      ...shown,
      last_reply_at: earlier,
      message: 'earlier',
      group_sk: earlier,
      version: 3,
      last_read_at: earlier,
      other_last_read_at: earlier,
    });
    store.storeListItem({
      owner_user_uuid: owner.uuid,
      message_group_uuid: m.message_group_uuid,
      last_reply_at: earlier,
      message: 'earlier',
      ...shown,
      other_last_read_at: earlier,
      read_version: 3,
    });
  }
}

export interface UnitsAtBatchSize {
  /** Messages of one conversation per batch. */
  batch: number;
  projector_wcu_per_message: number;
  projector_rcu_per_message: number;
  /** The message put included. */
  total_wcu_per_message: number;
  /** The model's formula (docs/capacity.md): 12 / k for the projector, index writes included. */
  model_projector_wcu_per_message: number;
}

/**
 * Units per message when each batch holds `k` messages of one conversation (two members writing
 * in turn): the real handler through the emulation, one shard, full batches.
 */
export async function unitsAtBatchSize(k: number, batches = 20): Promise<UnitsAtBatchSize> {
  const store = new MeteringStore();
  const handler = createStreamHandler({ repository: store, logger: silent });
  const emulation = new EventSourceEmulation(handler, store, { ...shippedEventSource(1), batchSize: k }, DEFAULT_DURATION_MODEL);
  const a = participant(1);
  const b = participant(2);
  const group = '00000003-0000-4000-8000-000000000001';
  const first = { at: 0, message_group_uuid: group, sender: a, recipient: b, first: true } as WorkloadMessage;
  store.payer = 'api';
  seedNewConversation(store, first);
  let n = 0;
  const put = (at: number, sender: typeof a) => {
    store.now = at;
    store.payer = 'api';
    const message: SimMessage = {
      message_group_uuid: group,
      created_at: formatTimestamp(WINDOW_PEAK_MICROS + ++n),
      message_uuid: `m${n}`,
      message: 'hello there, how are you doing today?',
      user_uuid: sender.uuid,
      user_display_name: sender.display_name,
      user_handle: sender.handle,
    };
    store.putMessage(message);
    emulation.add(at, message);
  };
  // A first batch creates the list items; the measurement starts after it.
  for (let i = 0; i < k; i++) put(0, i % 2 ? b : a);
  await emulation.run();
  store.resetMeters();
  for (let batch = 1; batch <= batches; batch++) for (let i = 0; i < k; i++) put(batch * 10, i % 2 ? b : a);
  await emulation.run();
  const messages = batches * k;
  const p = store.totals.projector;
  const api = store.totals.api;
  return {
    batch: k,
    projector_wcu_per_message: round((p.table_wcu + p.index_wcu) / messages),
    projector_rcu_per_message: round(p.rcu / messages),
    total_wcu_per_message: round((p.table_wcu + p.index_wcu + api.table_wcu) / messages),
    model_projector_wcu_per_message: round(12 / k),
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
