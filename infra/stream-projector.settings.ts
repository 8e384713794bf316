/**
 * The projector's Lambda and event source mapping settings, as plain numbers: the CDK construct
 * (stream-projector.ts) deploys them and the capacity simulation (bench/simulate.ts) emulates them,
 * so the figures in docs/capacity.md are those of what ships.
 *
 * Up to 100 records or one second per batch: the projector coalesces a batch per conversation, so
 * a busy conversation costs one projection per batch, not one per message.
 */
export const PROJECTOR_SETTINGS = {
  batchSize: 100,
  maxBatchingWindowSeconds: 1,
  retryAttempts: 5,
  maxRecordAgeHours: 6,
  /** Concurrent batches per shard (records of one partition key stay in order). */
  parallelizationFactor: 1,
  memoryMb: 512,
  timeoutSeconds: 60,
} as const;
