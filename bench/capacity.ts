import type { CapacityTotals } from './capacity-meter.js';
import type { ApiClient } from './api-client.js';
import type { BenchChild } from './processes.js';
import type { RawAccess } from './raw.js';
import type { Member } from './seed.js';

export interface OperationCost {
  /** DynamoDB requests per API call, by command. */
  requests: Record<string, number>;
  read_units: number;
  write_units: number;
}

export interface CapacityReport {
  /** Read units of one `GET /api/messages/:uuid` page of 20 (the membership check included). */
  rcu_per_messages_page: number;
  /** Read units of one `GET /api/message_groups` page of 20. */
  rcu_per_groups_page: number;
  /** Write units of one message sent to an existing conversation, its projection included, as dynalite reports them. */
  wcu_per_message: number;
  /**
   * The same plus the index writes DynamoDB bills and dynalite does not report: every put or delete
   * of a group item also writes `message-group-sk-index` (one more unit per item up to 1 KB).
   */
  wcu_per_message_with_index_writes: number;
  /** Read units per message sent: the projector's GSI queries (the sender's membership is cached). */
  rcu_per_message: number;
  /** The raw requests alone: one Query page each, one PutItem, and the membership check (GSI Query) a cold page or reply adds. */
  raw: { rcu_per_messages_page: number; rcu_per_groups_page: number; wcu_per_message: number; rcu_membership_check: number };
  /** Per API call, measured in the API process over `samples` calls. */
  per_call: { messages_page: OperationCost; groups_page: OperationCost; post_message: OperationCost & { index_writes: number } };
  samples: number;
  method: string;
}

const READS = new Set(['QueryCommand', 'GetItemCommand', 'ScanCommand', 'BatchGetItemCommand']);

/**
 * Capacity per operation (ReturnConsumedCapacity): the API's DynamoDB client is metered in the API
 * process (every command it sends, the projector's included, asks for TOTAL), while the bench makes
 * `samples` calls one at a time; the raw requests are sent from here with TOTAL as well.
 */
export async function measureCapacity(options: {
  api: BenchChild;
  client: ApiClient;
  raw: RawAccess;
  samples: number;
  reader: Member & { token: string };
  messagesGroup: string;
  groupsOwner: Member & { token: string };
  postGroup: string;
}): Promise<CapacityReport> {
  const { api, client, raw, samples } = options;
  const metered = async (work: () => Promise<void>): Promise<CapacityTotals> => {
    await api.request('drain');
    await api.request('capacity:start');
    try {
      for (let i = 0; i < samples; i++) await work();
    } finally {
      await api.request('drain');
    }
    return api.request<CapacityTotals>('capacity:stop');
  };

  const messages = await metered(async () => void (await client.get(`/api/messages/${options.messagesGroup}`, options.reader.token)));
  const groups = await metered(async () => void (await client.get('/api/message_groups', options.groupsOwner.token)));
  const posts = await metered(async () => {
    await client.postMessage(options.reader.token, { message: 'capacity probe', message_group_uuid: options.postGroup });
    // One projection per message (no coalescing): the cost of a message sent on its own.
    await api.request('drain');
  });

  const rawMessages = await raw.messagesPage(options.messagesGroup, { ReturnConsumedCapacity: 'TOTAL' });
  const rawGroups = await raw.groupsPage(options.groupsOwner.uuid, { ReturnConsumedCapacity: 'TOTAL' });
  const rawPut = await raw.putMessage(options.postGroup, options.reader, 'capacity probe (raw)', { ReturnConsumedCapacity: 'TOTAL' });
  const rawMembers = await raw.conversationMembers(options.messagesGroup, { ReturnConsumedCapacity: 'TOTAL' });

  const post = cost(posts, samples);
  const indexWrites = Object.values(posts).reduce((sum, c) => sum + c.indexedWrites, 0) / samples;
  return {
    rcu_per_messages_page: cost(messages, samples).read_units,
    rcu_per_groups_page: cost(groups, samples).read_units,
    wcu_per_message: post.write_units,
    wcu_per_message_with_index_writes: round(post.write_units + indexWrites),
    rcu_per_message: post.read_units,
    raw: {
      rcu_per_messages_page: rawMessages.ConsumedCapacity?.CapacityUnits ?? Number.NaN,
      rcu_per_groups_page: rawGroups.ConsumedCapacity?.CapacityUnits ?? Number.NaN,
      wcu_per_message: rawPut.ConsumedCapacity?.CapacityUnits ?? Number.NaN,
      rcu_membership_check: rawMembers.ConsumedCapacity?.CapacityUnits ?? Number.NaN,
    },
    per_call: {
      messages_page: cost(messages, samples),
      groups_page: cost(groups, samples),
      post_message: { ...post, index_writes: round(indexWrites) },
    },
    samples,
    method:
      'ReturnConsumedCapacity TOTAL on every command of the API process (a client middleware, added only while measuring), ' +
      `summed over ${samples} calls made one at a time, each POST followed by a drain of the change-capture emulator; ` +
      'dynalite reports table units only, so index writes are counted from the group-item puts and deletes',
  };
}

function cost(totals: CapacityTotals, samples: number): OperationCost {
  let read_units = 0;
  let write_units = 0;
  const requests: Record<string, number> = {};
  for (const [command, c] of Object.entries(totals)) {
    requests[command.replace(/Command$/, '')] = round(c.calls / samples);
    if (READS.has(command)) read_units += c.capacityUnits;
    else write_units += c.capacityUnits;
  }
  return { requests, read_units: round(read_units / samples), write_units: round(write_units / samples) };
}

const round = (x: number) => Math.round(x * 100) / 100;
