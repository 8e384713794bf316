import type { CapacityReport } from './capacity.js';
import type { CaseResult } from './load.js';
import type { ProjectorLag } from './projector-lag.js';
import type { SoakReport } from './soak.js';

export interface ScalingPoint {
  size: number;
  p50_ms: number;
  p99_ms: number;
  rps: number;
  raw_p50_ms?: number;
}

export interface Scaling {
  /** p50 at the largest size / p50 at the smallest. */
  messages_p50_ratio: number;
  groups_p50_ratio: number;
  raw_messages_p50_ratio?: number;
  raw_groups_p50_ratio?: number;
  connections: number;
  page_size: { messages: number; groups: number };
  messages: ScalingPoint[];
  groups: ScalingPoint[];
  note?: string;
}

export interface Target {
  name: string;
  target: string;
  value: number | null;
  met: boolean | null;
}

export interface BenchResult {
  generated_at: string;
  mode: 'quick' | 'full';
  machine: { cpus: number; cpu_model: string; node: string; platform: string; memory_gb: number };
  setup: Record<string, unknown>;
  cases: CaseResult[];
  ratios: {
    messages_vs_raw: number;
    groups_vs_raw: number;
    post_vs_raw: number;
    messages_vs_ceiling: number;
    groups_vs_ceiling: number;
    post_vs_ceiling: number;
    raw_messages_vs_ceiling: number;
  };
  scaling: Scaling;
  projector_lag_ms: ProjectorLag;
  rss_mb: { peak: number; soak_growth_pct: number | null; heap_after_gc_at_end: number; api_node_flags: string; soak: SoakReport | null };
  capacity: CapacityReport;
  targets: Target[];
  all_targets_met: boolean;
  notes: string[];
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
export { ratio };

/** Evaluates the issue's targets; a target that was not measured (the soak without --soak) is null. */
export function evaluateTargets(
  r: Omit<BenchResult, 'targets' | 'all_targets_met'>,
  api: Record<'messages' | 'groups' | 'post', CaseResult>,
): Target[] {
  const targets: Target[] = [
    {
      name: 'messages route throughput vs raw SDK',
      target: '>= 0.7',
      value: r.ratios.messages_vs_raw,
      met: r.ratios.messages_vs_raw >= 0.7,
    },
    {
      name: 'conversations route throughput vs raw SDK',
      target: '>= 0.7',
      value: r.ratios.groups_vs_raw,
      met: r.ratios.groups_vs_raw >= 0.7,
    },
  ];
  for (const [key, c] of Object.entries(api)) {
    const tail = ratio(c.p99_ms, c.p50_ms);
    targets.push({ name: `${key} route p99 / p50`, target: '< 3', value: tail, met: tail < 3 });
  }
  targets.push(
    {
      name: `messages p50 ratio (${sizes(r.scaling.messages)})`,
      target: '<= 1.25',
      value: r.scaling.messages_p50_ratio,
      met: r.scaling.messages_p50_ratio <= 1.25,
    },
    {
      name: `conversations p50 ratio (${sizes(r.scaling.groups)})`,
      target: '<= 1.25',
      value: r.scaling.groups_p50_ratio,
      met: r.scaling.groups_p50_ratio <= 1.25,
    },
    { name: 'projector lag p99 (ms)', target: '< 100', value: r.projector_lag_ms.p99, met: r.projector_lag_ms.p99 < 100 },
    { name: 'API peak RSS (MB)', target: '< 256', value: r.rss_mb.peak, met: r.rss_mb.peak < 256 },
    {
      name: 'soak RSS growth (%)',
      target: '<= 10',
      value: r.rss_mb.soak_growth_pct,
      met: r.rss_mb.soak_growth_pct === null ? null : r.rss_mb.soak_growth_pct <= 10,
    },
  );
  return targets;
}

const sizes = (points: ScalingPoint[]) => `${points[0].size.toLocaleString('en-US')} -> ${points.at(-1)!.size.toLocaleString('en-US')}`;

/** The human-readable summary printed at the end. */
export function formatReport(r: BenchResult): string {
  const lines: string[] = [];
  const num = (x: number, digits = 1) =>
    Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
  lines.push(`cruddur-messaging bench (${r.mode}) — ${r.machine.cpus} × ${r.machine.cpu_model}, Node ${r.machine.node}, ${r.generated_at}`);
  lines.push('');
  const width = Math.max(...r.cases.map((c) => c.name.length));
  lines.push(
    `${'case'.padEnd(width)}  ${'req/s'.padStart(9)}  ${'p50 ms'.padStart(8)}  ${'p99 ms'.padStart(8)}  ${'errors'.padStart(6)}  conns`,
  );
  for (const c of r.cases) {
    lines.push(
      `${c.name.padEnd(width)}  ${num(c.rps).padStart(9)}  ${num(c.p50_ms, 2).padStart(8)}  ${num(c.p99_ms, 2).padStart(8)}  ${String(c.errors).padStart(6)}  ${c.connections}`,
    );
  }
  lines.push('');
  const q = r.ratios;
  lines.push(`throughput vs raw SDK:        messages ${q.messages_vs_raw}×   conversations ${q.groups_vs_raw}×   post ${q.post_vs_raw}×`);
  lines.push(
    `throughput vs Nest ceiling:   messages ${q.messages_vs_ceiling}×   conversations ${q.groups_vs_ceiling}×   post ${q.post_vs_ceiling}×   (raw messages page ${q.raw_messages_vs_ceiling}×)`,
  );
  lines.push('');
  const s = r.scaling;
  lines.push(
    `scaling (p50 at ${s.connections} connections, pages of ${s.page_size.messages} messages / ${s.page_size.groups} conversations${s.note ? `; ${s.note}` : ''}):`,
  );
  const point = (p: ScalingPoint) =>
    `${p.size.toLocaleString('en-US')}: ${num(p.p50_ms, 2)} ms${p.raw_p50_ms !== undefined ? ` (raw ${num(p.raw_p50_ms, 2)})` : ''}`;
  lines.push(
    `  messages route, conversation of   ${s.messages.map(point).join('   ')}   ratio ${s.messages_p50_ratio}${s.raw_messages_p50_ratio !== undefined ? ` (raw ${s.raw_messages_p50_ratio})` : ''}`,
  );
  lines.push(
    `  conversations route, user with    ${s.groups.map(point).join('   ')}   ratio ${s.groups_p50_ratio}${s.raw_groups_p50_ratio !== undefined ? ` (raw ${s.raw_groups_p50_ratio})` : ''}`,
  );
  lines.push('');
  const lag = r.projector_lag_ms;
  lines.push(
    `projector lag over ${lag.messages.toLocaleString('en-US')} messages: p50 ${num(lag.p50, 2)} ms, p99 ${num(lag.p99, 2)} ms, max ${num(lag.max, 2)} ms (poll round trip ${num(lag.poll_rtt_p50_ms, 2)} ms)`,
  );
  const soak = r.rss_mb.soak;
  lines.push(
    `API memory (node ${r.rss_mb.api_node_flags}): peak RSS ${num(r.rss_mb.peak)} MB, live heap after GC ${r.rss_mb.heap_after_gc_at_end} MB; ` +
      (soak
        ? `soak ${soak.duration_s} s at ${soak.connections} connections (${num(soak.load.rps)} req/s, ${soak.load.errors} errors): RSS ${num(soak.rss_baseline_mb)} -> ${num(soak.rss_end_mb)} MB (${soak.growth_pct >= 0 ? '+' : ''}${soak.growth_pct}%), heap after GC ${num(soak.heap_after_gc_mb.start)} -> ${num(soak.heap_after_gc_mb.end)} MB`
        : 'soak not run (add --soak)'),
  );
  const c = r.capacity;
  lines.push(
    `capacity: ${c.rcu_per_messages_page} RCU per messages page (raw Query ${c.raw.rcu_per_messages_page}), ${c.rcu_per_groups_page} RCU per conversations page (raw ${c.raw.rcu_per_groups_page}), ` +
      `${c.wcu_per_message} WCU + ${c.rcu_per_message} RCU per message incl. projector (${c.wcu_per_message_with_index_writes} WCU with GSI writes; raw PutItem ${c.raw.wcu_per_message}); ` +
      `a cold membership check adds ${c.raw.rcu_membership_check} RCU`,
  );
  const calls = (o: { requests: Record<string, number> }) =>
    Object.entries(o.requests)
      .map(([k, v]) => `${v} ${k}`)
      .join(' + ');
  lines.push(
    `  DynamoDB requests per call: messages page ${calls(c.per_call.messages_page)}; conversations page ${calls(c.per_call.groups_page)}; message sent ${calls(c.per_call.post_message)}`,
  );
  lines.push('');
  lines.push('targets:');
  for (const t of r.targets) {
    const verdict = t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED';
    lines.push(`  ${verdict.padEnd(12)} ${t.name}: ${t.value ?? '-'} (target ${t.target})`);
  }
  if (r.notes.length) {
    lines.push('');
    for (const note of r.notes) lines.push(`note: ${note}`);
  }
  return lines.join('\n');
}
