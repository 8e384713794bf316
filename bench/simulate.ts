import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScriptArgs, usageError } from '../tools/cli/args.js';
import { PROJECTOR_SETTINGS } from '../infra/stream-projector.settings.js';
import { PARTITION_LIMITS, PRICES } from './simulation/prices.js';
import { apiTier, costModel, formatSimulationReport, workloadFigures, type SimulationReport } from './simulation/report.js';
import { shippedEventSource, simulate, unitsAtBatchSize } from './simulation/simulation.js';
import { DEFAULT_WORKLOAD, type WorkloadOptions } from './simulation/workload.js';

const USAGE =
  'npm run simulate -- [--users N] [--messages-per-day N] [--duration S] [--seed N] [--zipf X] [--top-conversations N] ' +
  '[--burst N] [--peak-factor X] [--shards N] [--batch-size N] [--window S] [--parallelization N] [--throttle-rate X] [--out FILE]';
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results');

/** Default shards: a month of messages at this rate is some 10 TB, about one partition (and shard) per 10 GB. */
export const DEFAULT_SHARDS = 1000;

async function main(): Promise<void> {
  const spec = {
    usage: USAGE,
    options: Object.fromEntries(
      [
        'users',
        'messages-per-day',
        'duration',
        'seed',
        'zipf',
        'top-conversations',
        'burst',
        'peak-factor',
        'shards',
        'batch-size',
        'window',
        'parallelization',
        'throttle-rate',
        'out',
      ].map((name) => [name, 'string' as const]),
    ),
  };
  const { options } = parseScriptArgs(process.argv.slice(2), spec);
  const number = (name: string, fallback: number) => {
    const value = options[name];
    if (value === undefined) return fallback;
    const parsed = Number(String(value).replace(/_/g, ''));
    if (!Number.isFinite(parsed) || parsed < 0) throw usageError(spec, `--${name} must be a non-negative number`);
    return parsed;
  };
  const workload: WorkloadOptions = {
    ...DEFAULT_WORKLOAD,
    users: number('users', DEFAULT_WORKLOAD.users),
    messagesPerDay: number('messages-per-day', DEFAULT_WORKLOAD.messagesPerDay),
    durationS: number('duration', DEFAULT_WORKLOAD.durationS),
    seed: number('seed', DEFAULT_WORKLOAD.seed),
    zipf: number('zipf', DEFAULT_WORKLOAD.zipf),
    topConversations: number('top-conversations', DEFAULT_WORKLOAD.topConversations),
    burst: number('burst', DEFAULT_WORKLOAD.burst),
    peakFactor: number('peak-factor', DEFAULT_WORKLOAD.peakFactor),
  };
  const eventSource = {
    ...shippedEventSource(number('shards', DEFAULT_SHARDS)),
    batchSize: number('batch-size', PROJECTOR_SETTINGS.batchSize),
    windowS: number('window', PROJECTOR_SETTINGS.maxBatchingWindowSeconds),
    parallelizationFactor: number('parallelization', PROJECTOR_SETTINGS.parallelizationFactor),
  };
  const figures = workloadFigures(workload);
  console.log(`simulating ${workload.durationS} s at ${Math.round(figures.peak_per_s)} messages/s…`);
  const result = await simulate({ workload, eventSource, throttleRate: number('throttle-rate', 0) });
  const units = [];
  for (const k of [1, 10, 100]) units.push(await unitsAtBatchSize(k));
  const cost = costModel(workload, result, PROJECTOR_SETTINGS.memoryMb);
  const benchFile = join(RESULTS, 'latest.json');
  const api = existsSync(benchFile) ? apiTier(JSON.parse(readFileSync(benchFile, 'utf8')) as Parameters<typeof apiTier>[0]) : undefined;
  const hottestWrite = Math.max(...Object.values(result.hottest.writes).flatMap((ls) => ls.map((l) => l.peak_wcu_s)));
  const hottestRead = Math.max(...Object.values(result.hottest.reads).flatMap((ls) => ls.map((l) => l.peak_rcu_s)));
  const report: SimulationReport = {
    generated_at: new Date().toISOString(),
    prices: PRICES,
    limits: PARTITION_LIMITS,
    workload: figures,
    event_source: eventSource,
    result,
    units_at_batch_size: units,
    cost,
    api_tier: api,
    targets: [
      {
        name: `no partition over ${PARTITION_LIMITS.wcu_per_s} WCU/s or ${PARTITION_LIMITS.rcu_per_s} RCU/s at the peak`,
        result: `hottest ${Math.round(hottestWrite)} WCU/s, ${Math.round(hottestRead)} RCU/s; over: ${result.overLimit.length}`,
        met: result.overLimit.length === 0,
      },
      {
        name: 'no record discarded after its retries',
        result: `${result.lambda.discarded} discarded`,
        met: result.lambda.discarded === 0,
      },
    ],
  };
  console.log(formatSimulationReport(report));
  const out = typeof options.out === 'string' ? options.out : join(RESULTS, 'simulation.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwritten: ${out}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
