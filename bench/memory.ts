import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface RssSample {
  /** Seconds since sampling started. */
  t: number;
  rssMb: number;
}

/** VmRSS and VmHWM (the kernel's own peak since the process started) of a process, in MB. */
export function readRss(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/**
 * Samples a process's RSS from /proc every `intervalMs` until stopped. The peak is the larger of the
 * highest sample and the kernel's high-water mark, so a spike between samples still counts.
 */
export function sampleRss(pid: number, intervalMs = 250) {
  const samples: RssSample[] = [];
  const started = performance.now();
  let peakMb = 0;
  const sample = () => {
    try {
      const { rssMb, peakMb: hwm } = readRss(pid);
      samples.push({ t: (performance.now() - started) / 1000, rssMb });
      peakMb = Math.max(peakMb, rssMb, hwm);
    } catch {
      // the process is gone; stop() reports what was seen
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    samples,
    /** The latest sample (MB). */
    current: () => samples.at(-1)?.rssMb ?? Number.NaN,
    /** Samples from `fromS` to `toS` seconds (relative to the start of sampling). */
    window: (fromS: number, toS: number) => samples.filter((s) => s.t >= fromS && s.t <= toS).map((s) => s.rssMb),
    stop: () => {
      clearInterval(timer);
      sample();
      return peakMb;
    },
  };
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
