import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import type { CpuMeter, CpuShare } from './cpu.js';

/** One measured case, as latest.json records it. */
export interface CaseResult {
  name: string;
  /** Successful (2xx) requests or operations per second. */
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** Failed requests: non-2xx answers, connection errors and timeouts. */
  errors: number;
  requests: number;
  connections: number;
  duration_s: number;
  /** Status codes other than 2xx, or error names, with counts (only when errors > 0). */
  error_kinds?: Record<string, number>;
  /** CPU used while measuring, in % of one core: each bench process, the rest of the machine, idle. */
  cpu_pct?: CpuShare;
}

export interface Timing {
  /** Measured seconds per round. */
  durationS: number;
  /** Rounds: every case is measured once per round, cases interleaved, so drift hits all alike. */
  rounds: number;
  /** Seconds of the same load before the first round (discarded: JIT, connection pools, caches). */
  warmupS: number;
}

/** Exact percentiles of recorded latencies (ms, to 0.001). */
export class Latencies {
  private values = new Float64Array(1 << 16);
  private n = 0;

  record(ms: number): void {
    if (this.n === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = ms;
  }

  /** Nearest-rank percentile. */
  percentile(p: number): number {
    if (this.n === 0) return Number.NaN;
    const sorted = this.values.slice(0, this.n).sort();
    return round3(sorted[Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1))]);
  }

  merge(other: Latencies): this {
    for (let i = 0; i < other.n; i++) this.record(other.values[i]);
    return this;
  }
}

export const round3 = (x: number) => Math.round(x * 1000) / 1000;

export interface HttpLoad {
  url: string;
  connections: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Builds each request's body (per connection context); for POSTs. */
  body?: (context: Record<string, number>) => string;
  /** Several requests a connection cycles through (e.g. the soak's mix); overrides method/body. */
  requests?: autocannon.Request[];
}

export interface RunOutcome {
  latencies: Latencies;
  ok: number;
  errors: number;
  errorKinds: Record<string, number>;
  seconds: number;
}

export async function runAutocannon(load: HttpLoad, durationS: number): Promise<RunOutcome> {
  const latencies = new Latencies();
  const errorKinds: Record<string, number> = {};
  const requests: autocannon.Request[] = load.requests ?? [
    {
      method: load.method ?? 'GET',
      ...(load.body
        ? {
            setupRequest: (request: autocannon.Request, context: object) => {
              request.body = load.body!(context as Record<string, number>);
              return request;
            },
          }
        : {}),
    },
  ];
  const started = performance.now();
  const instance = autocannon({
    url: load.url,
    connections: load.connections,
    duration: durationS,
    headers: { 'content-type': 'application/json', ...load.headers },
    requests,
    timeout: 10,
  });
  let ok = 0;
  (instance as unknown as NodeJS.EventEmitter).on(
    'response',
    (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok++;
        latencies.record(responseTime);
      } else {
        errorKinds[String(statusCode)] = (errorKinds[String(statusCode)] ?? 0) + 1;
      }
    },
  );
  (instance as unknown as NodeJS.EventEmitter).on('reqError', (error: Error) => {
    const kind = (error as { code?: string }).code ?? error.name;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  });
  const result = await instance;
  const seconds = (performance.now() - started) / 1000;
  const errors = result.non2xx + result.errors + result.timeouts;
  if (result.timeouts) errorKinds.timeout = result.timeouts;
  return { latencies, ok, errors, errorKinds, seconds: Math.min(seconds, result.duration || seconds) };
}

export async function runLoops(concurrency: number, operation: (loop: number) => Promise<unknown>, durationS: number): Promise<RunOutcome> {
  const latencies = new Latencies();
  const errorKinds: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationS * 1000;
  const loop = async (index: number) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await operation(index);
        latencies.record(performance.now() - t0);
        ok++;
      } catch (error) {
        errors++;
        const kind = error instanceof Error ? error.name : 'error';
        errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
  return { latencies, ok, errors, errorKinds, seconds: (performance.now() - started) / 1000 };
}

/** Something that puts load on a target for a number of seconds and reports what happened. */
export type Driver = (durationS: number) => Promise<RunOutcome>;

/** An HTTP route driven by autocannon (latencies from its per-response timings, fractional ms). */
export const httpDriver =
  (load: HttpLoad): Driver =>
  (durationS) =>
    runAutocannon(load, durationS);

/**
 * The raw-SDK counterpart of a route: `concurrency` loops each awaiting `operation` back to back,
 * so the database sees as many requests in flight as autocannon's connections put on the API.
 */
export const loopDriver =
  (concurrency: number, operation: (loop: number) => Promise<unknown>): Driver =>
  (durationS) =>
    runLoops(concurrency, operation, durationS);

export interface CaseSpec {
  name: string;
  connections: number;
  driver: Driver;
}

/**
 * Measures cases in interleaved rounds (each case warmed up once first), merging each case's rounds:
 * latencies pooled, throughput = successes / measured seconds, CPU shares time-weighted.
 */
export async function measureCases(
  specs: CaseSpec[],
  timing: Timing,
  cpu?: CpuMeter,
  onRound?: (round: number) => void,
): Promise<CaseResult[]> {
  const totals = specs.map(
    (): { latencies: Latencies; ok: number; errors: number; errorKinds: Record<string, number>; seconds: number; cpu: CpuShare } => ({
      latencies: new Latencies(),
      ok: 0,
      errors: 0,
      errorKinds: {},
      seconds: 0,
      cpu: {},
    }),
  );
  for (const spec of specs) if (timing.warmupS > 0) await spec.driver(timing.warmupS);
  for (let round = 0; round < timing.rounds; round++) {
    for (const [i, spec] of specs.entries()) {
      cpu?.start();
      const outcome = await spec.driver(timing.durationS);
      const share = cpu?.stop() ?? {};
      const t = totals[i];
      t.latencies.merge(outcome.latencies);
      t.ok += outcome.ok;
      t.errors += outcome.errors;
      for (const [kind, n] of Object.entries(outcome.errorKinds)) t.errorKinds[kind] = (t.errorKinds[kind] ?? 0) + n;
      for (const [name, pct] of Object.entries(share)) t.cpu[name] = (t.cpu[name] ?? 0) + pct * outcome.seconds;
      t.seconds += outcome.seconds;
    }
    onRound?.(round + 1);
  }
  return specs.map((spec, i) => {
    const t = totals[i];
    const cpuPct = Object.fromEntries(Object.entries(t.cpu).map(([name, weighted]) => [name, Math.round(weighted / t.seconds)]));
    return toCase(spec.name, { ...t }, spec.connections, cpu ? cpuPct : undefined);
  });
}

export function toCase(name: string, outcome: RunOutcome, connections: number, cpu?: CpuShare): CaseResult {
  return {
    name,
    rps: Math.round((outcome.ok / outcome.seconds) * 10) / 10,
    p50_ms: outcome.latencies.percentile(50),
    p99_ms: outcome.latencies.percentile(99),
    errors: outcome.errors,
    requests: outcome.ok + outcome.errors,
    connections,
    duration_s: Math.round(outcome.seconds * 10) / 10,
    ...(outcome.errors > 0 ? { error_kinds: outcome.errorKinds } : {}),
    ...(cpu ? { cpu_pct: cpu } : {}),
  };
}
