import type autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { runAutocannon, toCase, type CaseResult } from './load.js';
import { median, sampleRss } from './memory.js';
import type { BenchChild } from './processes.js';

export interface SoakReport {
  duration_s: number;
  connections: number;
  /** Median RSS over the baseline window (after the warm-up) and over the last window. */
  rss_baseline_mb: number;
  rss_end_mb: number;
  growth_pct: number;
  /** V8 heap in use right after a full GC, at the end of the warm-up and at the end. */
  heap_after_gc_mb: { start: number; end: number; growth_pct: number };
  load: CaseResult;
  windows: string;
}

/**
 * A constant load for `durationS`: `connections` connections cycling through the three routes
 * (read a page of messages, read the conversations, post a message). RSS growth compares the median
 * RSS of the first minute after a 30 s warm-up with that of the last minute.
 */
export async function soak(
  api: BenchChild,
  origin: string,
  requests: autocannon.Request[],
  connections: number,
  durationS: number,
  log: (line: string) => void,
): Promise<SoakReport> {
  const started = performance.now();
  const rss = sampleRss(api.pid, 1000);
  const warmupS = Math.min(30, durationS / 5);
  const windowS = Math.min(60, durationS / 5);
  const heapAfterGc = async () => (await api.request<NodeJS.MemoryUsage>('memory', { gc: true })).heapUsed / 2 ** 20;
  let heapStart = Number.NaN;
  const startHeap = setTimeout(() => void heapAfterGc().then((mb) => (heapStart = mb)), warmupS * 1000);
  const progress = setInterval(
    () =>
      log(`  soak ${Math.round((performance.now() - started) / 1000)} s / ${durationS} s, RSS ${rss.samples.at(-1)?.rssMb.toFixed(0)} MB`),
    60_000,
  );
  try {
    const outcome = await runAutocannon({ url: origin, connections, requests }, durationS);
    const heapEnd = await heapAfterGc();
    rss.stop();
    const elapsed = (performance.now() - started) / 1000;
    const baseline = median(rss.window(warmupS, warmupS + windowS));
    const end = median(rss.window(elapsed - windowS, elapsed));
    return {
      duration_s: Math.round(elapsed),
      connections,
      rss_baseline_mb: round1(baseline),
      rss_end_mb: round1(end),
      growth_pct: round1(((end - baseline) / baseline) * 100),
      heap_after_gc_mb: { start: round1(heapStart), end: round1(heapEnd), growth_pct: round1(((heapEnd - heapStart) / heapStart) * 100) },
      load: toCase('soak', outcome, connections),
      windows: `baseline ${warmupS}-${warmupS + windowS} s, end: the last ${windowS} s`,
    };
  } finally {
    clearTimeout(startHeap);
    clearInterval(progress);
    rss.stop();
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;
