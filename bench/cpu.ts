import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** CPU use during a measurement, in % of one core: by process, the rest of the machine, idle, stolen by the hypervisor. */
export type CpuShare = Record<string, number>;

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a process, in seconds. */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Busy and total CPU time of the whole machine, in seconds (all cores). */
function machineCpuSeconds(): { busy: number; steal: number; total: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busy: busy / TICKS_PER_SECOND, steal: steal / TICKS_PER_SECOND, total: (busy + idle + iowait + steal) / TICKS_PER_SECOND };
}

/**
 * Measures how much CPU each of the bench's processes used between start() and stop(), and how much
 * the rest of the machine used (other work on a shared machine distorts every figure: it is shown).
 */
export function cpuMeter(pids: Record<string, number>) {
  let started: { at: number; byPid: Record<string, number>; machine: ReturnType<typeof machineCpuSeconds> } | undefined;
  const read = () => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, safe(() => processCpuSeconds(pid))]));
  return {
    start(): void {
      started = { at: performance.now(), byPid: read(), machine: machineCpuSeconds() };
    },
    stop(): CpuShare {
      if (!started) return {};
      const seconds = (performance.now() - started.at) / 1000;
      const now = read();
      const machine = machineCpuSeconds();
      const share: CpuShare = {};
      let ours = 0;
      for (const name of Object.keys(pids)) {
        const used = now[name] - started.byPid[name];
        ours += used;
        share[name] = Math.round((used / seconds) * 100);
      }
      share.other = Math.max(0, Math.round(((machine.busy - started.machine.busy - ours) / seconds) * 100));
      const idle = machine.total - machine.busy - machine.steal - (started.machine.total - started.machine.busy - started.machine.steal);
      share.idle = Math.max(0, Math.round((idle / seconds) * 100));
      // Time the hypervisor gave this machine's CPUs to someone else (a VM on a busy host).
      share.steal = Math.max(0, Math.round(((machine.steal - started.machine.steal) / seconds) * 100));
      started = undefined;
      return share;
    },
  };
}

export type CpuMeter = ReturnType<typeof cpuMeter>;

function safe(read: () => number): number {
  try {
    return read();
  } catch {
    return 0;
  }
}
