import { HOURS_PER_MONTH, PARTITION_LIMITS, PRICES, SECONDS_PER_MONTH } from './prices.js';
import type { SimulationResult, UnitsAtBatchSize } from './simulation.js';
import { rates, type WorkloadOptions } from './workload.js';
import type { EventSourceSettings } from './event-source.js';
import type { PartitionLoad } from './metering-store.js';

export interface ApiTier {
  /** CPU per list page and per POST as the bench measured it (bench/results/latest.json). */
  cpu_ms_per_request: Record<string, number>;
  /** Fargate tasks of 1 vCPU at 70 % CPU for 10,000 list requests per second. */
  tasks_per_10k_rps: number;
  cost_per_month_per_10k_rps: number;
}

export interface CostModel {
  messages_per_month: number;
  wru_per_message: number;
  rru_per_message: number;
  dynamodb_per_month: number;
  lambda_invocations_per_month: number;
  lambda_gb_seconds_per_month: number;
  lambda_per_month: number;
  per_million_messages: number;
}

export interface SimulationReport {
  generated_at: string;
  prices: typeof PRICES;
  limits: typeof PARTITION_LIMITS;
  workload: WorkloadOptions & { mean_per_s: number; peak_per_s: number };
  event_source: EventSourceSettings;
  result: SimulationResult;
  units_at_batch_size: UnitsAtBatchSize[];
  cost: CostModel;
  api_tier?: ApiTier;
  targets: { name: string; result: string; met: boolean }[];
}

/** The month's cost from the window's units per message and invocations, scaled to the day's mean rate. */
export function costModel(workload: WorkloadOptions, result: SimulationResult, lambdaMemoryMb: number): CostModel {
  const { api, projector } = result.totals;
  const wru = (api.table_wcu + api.index_wcu + projector.table_wcu + projector.index_wcu) / result.messages;
  const rru = (api.rcu + projector.rcu) / result.messages;
  const messagesPerMonth = (workload.messagesPerDay * SECONDS_PER_MONTH) / 86_400;
  // Invocations and their durations scale with the rate (at the peak they are fewest per message: a floor on the mean).
  const perMessage = (x: number) => x / result.messages;
  const invocations = perMessage(result.lambda.invocations) * messagesPerMonth;
  const gbSeconds = (perMessage(result.lambda.totalDurationMs) / 1000) * (lambdaMemoryMb / 1024) * messagesPerMonth;
  const dynamodb =
    (wru * messagesPerMonth * PRICES.dynamodb_per_million_wru + rru * messagesPerMonth * PRICES.dynamodb_per_million_rru) / 1e6;
  const lambda = (invocations / 1e6) * PRICES.lambda_per_million_requests + gbSeconds * PRICES.lambda_per_gb_second_arm;
  return {
    messages_per_month: messagesPerMonth,
    wru_per_message: round(wru),
    rru_per_message: round(rru),
    dynamodb_per_month: Math.round(dynamodb),
    lambda_invocations_per_month: Math.round(invocations),
    lambda_gb_seconds_per_month: Math.round(gbSeconds),
    lambda_per_month: Math.round(lambda),
    per_million_messages: round(((dynamodb + lambda) / messagesPerMonth) * 1e6),
  };
}

/** Tasks for 10,000 list requests per second from the bench's measured CPU per request. */
export function apiTier(bench: { cases?: { name: string; rps: number; cpu_pct: Record<string, number> }[] }): ApiTier | undefined {
  const cpu: Record<string, number> = {};
  for (const c of bench.cases ?? []) {
    if (!c.name.startsWith('API')) continue;
    cpu[c.name.replace(/\s+/g, ' ')] = round((c.cpu_pct.api / 100 / c.rps) * 1000);
  }
  const lists = Object.entries(cpu).filter(([name]) => name.includes('GET'));
  if (lists.length === 0) return undefined;
  const worst = Math.max(...lists.map(([, ms]) => ms));
  const tasks = Math.ceil((10_000 * worst) / 1000 / 0.7);
  const taskHour = PRICES.fargate_per_vcpu_hour_arm + 2 * PRICES.fargate_per_gb_hour_arm; // 1 vCPU, 2 GB
  return { cpu_ms_per_request: cpu, tasks_per_10k_rps: tasks, cost_per_month_per_10k_rps: Math.round(tasks * taskHour * HOURS_PER_MONTH) };
}

const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (x: number, limit: number) => `${fmt((x / limit) * 100)} %`;

export function formatSimulationReport(report: SimulationReport): string {
  const { result, workload, cost } = report;
  const lines: string[] = [];
  lines.push(
    `workload: ${fmt(workload.users)} users, ${fmt(workload.messagesPerDay)} messages/day (mean ${fmt(workload.mean_per_s)}/s, peak ${fmt(workload.peak_per_s)}/s), ` +
      `${workload.durationS} s at the peak, zipf ${workload.zipf}, burst ${workload.burst}, seed ${workload.seed}`,
  );
  lines.push(
    `replayed: ${fmt(result.messages)} messages (${fmt(result.firstMessages)} first messages; ${fmt(result.refused)} refused by the rate limits) in ${fmt(result.conversations)} conversations, ` +
      `${report.event_source.shards} shards × parallelization ${report.event_source.parallelizationFactor}, batch ${report.event_source.batchSize} / ${report.event_source.windowS} s, ` +
      `${fmt(result.wallS, 1)} s wall`,
  );
  lines.push('');
  lines.push(
    `hottest partitions (peak units in one second; limits ${PARTITION_LIMITS.wcu_per_s} WCU/s, ${PARTITION_LIMITS.rcu_per_s} RCU/s)`,
  );
  const row = (l: PartitionLoad) =>
    `  ${l.kind.padEnd(6)} ${l.key.slice(0, 48).padEnd(48)} ${fmt(l.peak_wcu_s, 1).padStart(8)} WCU/s (${pct(l.peak_wcu_s, PARTITION_LIMITS.wcu_per_s).padStart(5)})  ${fmt(l.peak_rcu_s, 1).padStart(8)} RCU/s (${pct(l.peak_rcu_s, PARTITION_LIMITS.rcu_per_s).padStart(5)})`;
  for (const kind of ['MSG#', 'GRP#', 'index']) {
    for (const l of result.hottest.writes[kind].slice(0, 3)) lines.push(row(l));
    const hotRead = result.hottest.reads[kind][0];
    if (hotRead && !result.hottest.writes[kind].slice(0, 3).includes(hotRead)) lines.push(row(hotRead));
  }
  lines.push(`  over a limit: ${result.overLimit.length === 0 ? 'none' : result.overLimit.map((l) => l.key).join(', ')}`);
  lines.push('');
  lines.push('units per message, k messages of one conversation per batch (projector measured | model 12 / k)');
  for (const u of report.units_at_batch_size) {
    lines.push(
      `  k = ${String(u.batch).padStart(3)}: projector ${fmt(u.projector_wcu_per_message, 2)} WRU | ${fmt(u.model_projector_wcu_per_message, 2)}, ` +
        `${fmt(u.projector_rcu_per_message, 2)} RRU; with the message put ${fmt(u.total_wcu_per_message, 2)} WRU`,
    );
  }
  const { api, projector } = result.totals;
  lines.push(
    `  the workload: ${fmt(cost.wru_per_message, 2)} WRU and ${fmt(cost.rru_per_message, 2)} RRU per message ` +
      `(API ${fmt((api.table_wcu + api.index_wcu) / result.messages, 2)} WRU; projector ${fmt(projector.table_wcu / result.messages, 2)} table + ${fmt(projector.index_wcu / result.messages, 2)} index WRU, ${fmt(projector.rcu / result.messages, 2)} RRU)`,
  );
  lines.push('');
  const l = result.lambda;
  lines.push(
    `lambda: ${fmt(l.invocations)} invocations (${fmt(l.invocations / result.simulatedS, 1)}/s), ${fmt(l.records / l.invocations, 1)} records each; ` +
      `batches 1: ${fmt(l.batchSizes['1'])}, 2-9: ${fmt(l.batchSizes['2-9'])}, 10-99: ${fmt(l.batchSizes['10-99'])}, 100+: ${fmt(l.batchSizes['100+'])}; ` +
      `duration est. mean ${fmt(l.totalDurationMs / l.invocations, 1)} ms, max ${fmt(l.maxDurationMs, 1)} ms; max iterator age ${fmt(l.maxIteratorAgeS, 2)} s; ` +
      `throttles ${fmt(result.throttled)}, retries ${fmt(l.retries)}, discarded ${fmt(l.discarded)}`,
  );
  lines.push('');
  lines.push(
    `cost per month at ${fmt(workload.messagesPerDay)} messages/day (${PRICES.region} on-demand, prices of ${PRICES.as_of}): ` +
      `DynamoDB $${fmt(cost.dynamodb_per_month)}, Lambda $${fmt(cost.lambda_per_month)} (${fmt(cost.lambda_invocations_per_month / 1e6, 1)} M invocations, ${fmt(cost.lambda_gb_seconds_per_month)} GB-s); ` +
      `$${fmt(cost.per_million_messages, 2)} per million messages`,
  );
  if (report.api_tier) {
    lines.push(
      `API tier: ${Object.entries(report.api_tier.cpu_ms_per_request)
        .map(([name, ms]) => `${name} ${fmt(ms, 2)} ms`)
        .join(
          '; ',
        )} of CPU per request (the bench): ${report.api_tier.tasks_per_10k_rps} tasks of 1 vCPU per 10k list req/s at 70 %, ≈ $${fmt(report.api_tier.cost_per_month_per_10k_rps)}/month`,
    );
  }
  lines.push('');
  for (const t of report.targets) lines.push(`${t.met ? 'met    ' : 'NOT MET'}  ${t.name}: ${t.result}`);
  return lines.join('\n');
}

export function workloadFigures(workload: WorkloadOptions) {
  const { mean, peak } = rates(workload);
  return { ...workload, mean_per_s: round(mean), peak_per_s: round(peak) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
