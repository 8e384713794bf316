import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { loadConfig } from '../config/config.js';
import { createDynamoDbClient } from '../dynamodb/dynamodb.client.js';
import { MEMBER_PREFIX, MESSAGE_PREFIX } from '../dynamodb/message.entities.js';
import { MessagesRepository } from '../dynamodb/messages.repository.js';
import { compareTimestamps } from '../dynamodb/timestamp.js';
import { conversationEvents, type LiveEvent } from '../live/live-event.js';
import type { LiveEventBus } from '../live/live-event.bus.js';
import { RedisLiveEventBus } from '../live/redis-live-event.bus.js';
import {
  ConversationListProjector,
  type ConversationProjection,
  type ProjectedMessage,
  type ProjectorStore,
} from './conversation-list.projector.js';

/*
 * The stream Lambda (docs/architecture.md, "The projector"). Kept free of Nest so that esbuild can bundle it on its own.
 */

export type StreamHandler = (event: DynamoDBStreamEvent, context?: Context) => Promise<DynamoDBBatchResponse>;

/** Structured logs of the projector; the level follows POWERTOOLS_LOG_LEVEL (INFO by default). */
export const streamLogger = new Logger({ serviceName: 'cruddur-messaging-stream' });

/** How many conversations of one batch are projected at the same time. */
const CONVERSATION_CONCURRENCY = 8;

export interface StreamHandlerDeps {
  repository: ProjectorStore;
  logger?: Logger;
  /** Holds one batch's state: a handler processes one batch at a time (as Lambda does). */
  processor?: BatchProcessor;
  /**
   * Where live events go once a conversation is projected (README, "Live delivery"): the stream
   * sees every message of the table, whoever wrote it. Best effort: a bus that fails costs live
   * events, never a projection (clients resume from DynamoDB).
   */
  bus?: Pick<LiveEventBus, 'publish'>;
}

type Outcome = { ok: true; projection: ConversationProjection } | { ok: false; error: unknown };

/**
 * Builds the handler around a repository: the Lambda's (below) and the local change-capture
 * emulator's run this same code.
 *
 * Coalescing: a batch is read first, and only the newest message of each conversation is projected
 * (one put and delete per member per conversation per batch, however many replies the batch holds).
 * Records are then settled in order against their conversation's outcome, so when a projection
 * fails, every record of that conversation in the batch is reported. For DynamoDB streams Lambda
 * resumes from the lowest reported sequence number, so the extra identifiers cost nothing there,
 * while the conversation's newest record is always among them: a retry projects the newest message,
 * not an older one (the emulator retries exactly the reported records).
 */
export function createStreamHandler(deps: StreamHandlerDeps): StreamHandler {
  const projector = new ConversationListProjector(deps.repository);
  const logger = deps.logger ?? streamLogger;
  const processor = deps.processor ?? new BatchProcessor(EventType.DynamoDBStreams);

  return async (event, context) => {
    if (context) logger.addContext(context);
    const newest = newestMessagePerConversation(event.Records ?? []);
    const outcomes = projectAll(projector, [...newest.values()], logger);

    const recordHandler = async (record: DynamoDBRecord): Promise<void> => {
      const message = messageOf(record);
      if (!message) return;
      const outcome = await outcomes.get(message.message_group_uuid)!;
      if (!outcome.ok) throw outcome.error;
    };
    const response = await processPartialResponse(event, recordHandler, processor, { context, processInParallel: false });
    if (deps.bus) await publishLiveEvents(deps.bus, event.Records ?? [], newest, outcomes, logger);
    logger.debug('batch projected', {
      records: event.Records.length,
      conversations: newest.size,
      failedRecords: response.batchItemFailures.length,
    });
    return response;
  };
}

/** The message of an INSERT of a `MSG#` item; undefined for records the projector skips. */
export function messageOf(record: DynamoDBRecord): ProjectedMessage | undefined {
  if (record.eventName !== 'INSERT') return undefined;
  const pk = record.dynamodb?.Keys?.pk?.S ?? record.dynamodb?.NewImage?.pk?.S;
  if (!pk?.startsWith(MESSAGE_PREFIX)) return undefined;
  const image = record.dynamodb?.NewImage;
  if (!image) throw new Error(`INSERT of ${pk} carries no NewImage (the stream must be NEW_IMAGE)`);
  const item = unmarshall(image as Record<string, AttributeValue>);
  if (typeof item.sk === 'string' && item.sk.startsWith(MEMBER_PREFIX)) return undefined; // a member item, not a message
  if (typeof item.sk !== 'string' || typeof item.message !== 'string') {
    throw new Error(`INSERT of ${pk} is not a message item (sk and message must be strings)`);
  }
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    message_group_uuid: pk.slice(MESSAGE_PREFIX.length),
    created_at: item.sk,
    message: item.message,
    message_uuid: text(item.message_uuid),
    user_uuid: text(item.user_uuid),
    user_display_name: text(item.user_display_name),
    user_handle: text(item.user_handle),
  };
}

/**
 * The newest message of each conversation in the batch, with each writer's newest message of it
 * (`authored`: what a member wrote, they have read, even when a newer message is the one projected).
 */
function newestMessagePerConversation(records: DynamoDBRecord[]): Map<string, ProjectedMessage> {
  const newest = new Map<string, ProjectedMessage>();
  const authored = new Map<string, Record<string, string>>();
  for (const record of records) {
    let message: ProjectedMessage | undefined;
    try {
      message = messageOf(record);
    } catch {
      continue; // reported against its own record by the record handler
    }
    if (!message) continue;
    const group = message.message_group_uuid;
    const seen = newest.get(group);
    if (!seen || compareTimestamps(message.created_at, seen.created_at) >= 0) newest.set(group, message);
    if (message.user_uuid !== undefined) {
      const writers = authored.get(group) ?? {};
      const previous = writers[message.user_uuid];
      if (previous === undefined || compareTimestamps(message.created_at, previous) > 0) writers[message.user_uuid] = message.created_at;
      authored.set(group, writers);
    }
  }
  for (const [group, message] of newest) newest.set(group, { ...message, authored: authored.get(group) });
  return newest;
}

/** Starts every conversation's projection, a few at a time; each outcome settles, never rejects. */
function projectAll(projector: ConversationListProjector, messages: ProjectedMessage[], logger: Logger): Map<string, Promise<Outcome>> {
  const outcomes = new Map<string, Promise<Outcome>>();
  const lanes: Promise<unknown>[] = Array.from({ length: CONVERSATION_CONCURRENCY }, () => Promise.resolve());
  messages.forEach((message, i) => {
    const lane = i % CONVERSATION_CONCURRENCY;
    const outcome = lanes[lane].then(() =>
      projector.project(message).then(
        (projection): Outcome => ({ ok: true, projection }),
        (error: unknown): Outcome => {
          logger.error('projection failed', {
            message_group_uuid: message.message_group_uuid,
            sk: message.created_at,
            error: error as Error,
          });
          return { ok: false, error };
        },
      ),
    );
    lanes[lane] = outcome;
    outcomes.set(message.message_group_uuid, outcome);
  });
  return outcomes;
}

/** The live events of the batch's projected conversations, published in one call. */
async function publishLiveEvents(
  bus: Pick<LiveEventBus, 'publish'>,
  records: DynamoDBRecord[],
  newest: Map<string, ProjectedMessage>,
  outcomes: Map<string, Promise<Outcome>>,
  logger: Logger,
): Promise<void> {
  const byConversation = new Map<string, ProjectedMessage[]>();
  for (const record of records) {
    let message: ProjectedMessage | undefined;
    try {
      message = messageOf(record);
    } catch {
      continue;
    }
    if (message) byConversation.set(message.message_group_uuid, [...(byConversation.get(message.message_group_uuid) ?? []), message]);
  }
  const events: LiveEvent[] = [];
  for (const [group, messages] of byConversation) {
    const outcome = await outcomes.get(group)!;
    if (outcome.ok) events.push(...conversationEvents(messages, outcome.projection.members, newest.get(group)!.created_at));
  }
  try {
    await bus.publish(events);
  } catch (error) {
    logger.warn('live events not published', { events: events.length, error: error as Error });
  }
}

const processor = new BatchProcessor(EventType.DynamoDBStreams);
let lambdaHandler: StreamHandler | undefined;

/** The Lambda entry point: client and repository are built once per container, on first use. */
export const handler: StreamHandler = (event, context) => {
  lambdaHandler ??= createLambdaHandler();
  return lambdaHandler(event, context);
};

function createLambdaHandler(): StreamHandler {
  const config = loadConfig();
  const repository = MessagesRepository.create(createDynamoDbClient(config), config.dynamodb.table);
  const bus = config.redisUrl ? new RedisLiveEventBus(config.redisUrl, { warn: (message) => streamLogger.warn(message) }) : undefined;
  return createStreamHandler({ repository, processor, bus });
}
