import type { Logger } from '@aws-lambda-powertools/logger';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { MessageItem, MessagesRepository } from '../dynamodb/messages.repository.js';
import { MESSAGE_TABLE } from '../dynamodb/table.definition.js';
import type { LiveEventBus } from '../live/live-event.bus.js';
import { createStreamHandler, streamLogger, type StreamHandler } from './stream.handler.js';

export interface ChangeCaptureEmulatorOptions {
  /** Defaults to the stream handler built around the same repository (publishing to `bus`). */
  handler?: StreamHandler;
  /** Where the default handler publishes live events, as the Lambda does. */
  bus?: Pick<LiveEventBus, 'publish'>;
  /** Most records per handler call (DynamoDB's event source allows up to 10,000). */
  maxBatchSize?: number;
  /** Deliveries of one record before it is given up (logged as an error). */
  maxAttempts?: number;
  /** First retry delay; it doubles with every further attempt. */
  backoffMs?: number;
  region?: string;
  logger?: Logger;
}

interface Pending {
  record: DynamoDBRecord;
  attempts: number;
}

/**
 * The local stand-in for DynamoDB Streams → Lambda (docs/architecture.md, "The projector"): every message item written
 * through the repository becomes a real-shaped INSERT record, delivered to the stream handler.
 *
 * It behaves like one shard: one queue in write order (so per-conversation order holds), one
 * handler call at a time, what arrives while a call runs goes into the next batch, and reported
 * failures are put back at the head of the queue and retried with exponential backoff, which holds
 * back later records as a failing shard does. It is not atomic with the write (a crash between the
 * write and the delivery loses the record; `ddb:replay-stream` repairs a conversation) and has no
 * shards, no retention and no parallelism.
 */
export class ChangeCaptureEmulator {
  private readonly handler: StreamHandler;
  private readonly maxBatchSize: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly logger: Logger;
  private readonly region: string;
  private readonly streamArn: string;
  private readonly queue: Pending[] = [];
  private sequence = 0n;
  private running?: Promise<void>;
  private unsubscribe?: () => void;

  constructor(
    private readonly repository: MessagesRepository,
    options: ChangeCaptureEmulatorOptions = {},
  ) {
    this.logger = options.logger ?? streamLogger;
    this.handler = options.handler ?? createStreamHandler({ repository, logger: this.logger, bus: options.bus });
    this.maxBatchSize = options.maxBatchSize ?? 100;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.backoffMs = options.backoffMs ?? 100;
    this.region = options.region ?? 'us-east-1';
    const label = new Date().toISOString().slice(0, -1); // a stream label looks like 2023-03-28T21:02:11.141
    this.streamArn = `arn:aws:dynamodb:${this.region}:000000000000:table/${repository.table}/stream/${label}`;
  }

  /** Builds an emulator and starts it. */
  static attach(repository: MessagesRepository, options?: ChangeCaptureEmulatorOptions): ChangeCaptureEmulator {
    return new ChangeCaptureEmulator(repository, options).start();
  }

  get started(): boolean {
    return this.unsubscribe !== undefined;
  }

  /** Starts capturing the messages written through the repository. */
  start(): this {
    this.unsubscribe ??= this.repository.onMessageWritten((item) => this.capture(item));
    return this;
  }

  /**
   * Also captures the messages written through another repository on the same table (another app
   * instance: one stream sees every writer of the table). Returns a function that stops it.
   */
  watch(repository: MessagesRepository): () => void {
    return repository.onMessageWritten((item) => this.capture(item));
  }

  /** Stops capturing; what is queued is still delivered (await `drain()`). */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Resolves when every record queued so far has been applied or given up. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Runs inside the repository's write: it must not throw, the message is already stored. */
  private capture(item: MessageItem): void {
    try {
      this.queue.push({ record: this.toRecord(item), attempts: 0 });
      this.schedule();
    } catch (error) {
      this.logger.error('change-capture emulator could not capture a message', {
        message_group_uuid: item.message_group_uuid,
        error: error as Error,
      });
    }
  }

  private schedule(): void {
    if (this.running) return;
    this.running = this.deliverAll()
      .catch((error: unknown) => this.logger.error('change-capture emulator stopped delivering', { error: error as Error }))
      .finally(() => {
        this.running = undefined;
        if (this.queue.length > 0) this.schedule();
      });
  }

  private async deliverAll(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve)); // let a burst of writes share one batch
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatchSize);
      const failed = await this.deliver(batch);
      const retry = failed.filter((p) => ++p.attempts < this.maxAttempts);
      const givenUp = failed.filter((p) => p.attempts >= this.maxAttempts);
      if (givenUp.length > 0) {
        this.logger.error('change-capture emulator gave up on records', {
          attempts: this.maxAttempts,
          records: givenUp.map(({ record }) => ({ pk: record.dynamodb?.Keys?.pk?.S, sk: record.dynamodb?.Keys?.sk?.S })),
        });
      }
      if (retry.length > 0) {
        this.queue.unshift(...retry);
        await delay(this.backoffMs * 2 ** (Math.max(...retry.map((p) => p.attempts)) - 1));
      }
    }
  }

  /** Calls the handler once; returns the records to retry. */
  private async deliver(batch: Pending[]): Promise<Pending[]> {
    try {
      const { batchItemFailures } = await this.handler({ Records: batch.map((p) => p.record) });
      const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
      return batch.filter((p) => failed.has(p.record.dynamodb!.SequenceNumber!));
    } catch (error) {
      this.logger.warn('change-capture emulator: batch failed', { records: batch.length, error: error as Error });
      return batch;
    }
  }

  private toRecord(item: MessageItem): DynamoDBRecord {
    const stored = this.repository.model.entities.message.put(item).params<{ Item: Record<string, unknown> }>().Item;
    const keys = { [MESSAGE_TABLE.partitionKey]: stored.pk, [MESSAGE_TABLE.sortKey]: stored.sk };
    const newImage = marshall(stored);
    return {
      eventID: randomUUID().replace(/-/g, ''),
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.region,
      eventSourceARN: this.streamArn,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: marshall(keys) as NonNullable<DynamoDBRecord['dynamodb']>['Keys'],
        NewImage: newImage as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'],
        SequenceNumber: String(10n ** 20n + ++this.sequence),
        SizeBytes: JSON.stringify(newImage).length,
        StreamViewType: MESSAGE_TABLE.streamViewType,
      },
    };
  }
}
