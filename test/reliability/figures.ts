/**
 * The figures one reliability spec prints when it ends (issue 6): requests sent, faults injected,
 * cases tried, losses found, plus what is particular to the file. One line per group, written
 * straight to stdout so that jest adds no source location around it.
 */
export class ReliabilityFigures {
  private readonly started = performance.now();
  private readonly groups = new Map<string, Map<string, number>>();

  constructor(private readonly suite: string) {}

  add(group: string, name: string, n = 1): void {
    const counts = this.groups.get(group) ?? new Map<string, number>();
    counts.set(name, (counts.get(name) ?? 0) + n);
    this.groups.set(group, counts);
  }

  /** Sets a figure (for totals computed at the end). */
  set(group: string, name: string, n: number): void {
    this.add(group, name, n - this.get(group, name));
  }

  get(group: string, name: string): number {
    return this.groups.get(group)?.get(name) ?? 0;
  }

  print(): void {
    const seconds = ((performance.now() - this.started) / 1000).toFixed(1);
    const lines = [...this.groups].map(
      ([group, counts]) => `  ${group}: ${[...counts].map(([name, n]) => `${name} ${n.toLocaleString('en-US')}`).join(' · ')}`,
    );
    process.stdout.write(`[reliability] ${this.suite} (${seconds} s)\n${lines.join('\n')}\n`);
  }
}
