import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Stops the stack's child processes (cognito-local, the embedded Postgres) when the stack itself is
 * killed without a chance to stop them (SIGKILL, the OOM killer): otherwise they would keep running,
 * holding their ports and data directories, in the way of the next `npm run local`.
 * Normal shutdowns stop the children themselves and then `release()` the reaper.
 */
export interface Reaper {
  /** Stop `pid` with `signal` if the stack dies first. */
  watch(pid: number, signal: NodeJS.Signals): void;
  /** The stack stopped its children itself: the reaper exits without signalling anything. */
  release(): Promise<void>;
}

/**
 * The reaper: a Node process connected to the stack by an IPC channel. It learns what to stop; when
 * the channel closes (the stack exited, even by SIGKILL) it signals those and exits. Inline, so it
 * runs the same from dist/ and under the tests' TypeScript loader.
 */
const REAPER_SOURCE = `
const watched = new Map();
process.on('message', (m) => { if (m.type === 'watch') watched.set(m.pid, m.signal); else watched.clear(); });
process.on('disconnect', () => {
  for (const [pid, signal] of watched) { try { process.kill(pid, signal); } catch {} }
  process.exit(0);
});
`;

export function startReaper(): Reaper {
  // Detached: its own process group, so the Ctrl-C that reaches the stack's group does not end it
  // before the stack has stopped its children. Unref'd: it never keeps the stack's process alive.
  const child: ChildProcess = spawn(process.execPath, ['-e', REAPER_SOURCE], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  child.unref();
  child.channel?.unref();
  child.once('error', () => undefined);
  return {
    watch(pid, signal) {
      if (child.connected) child.send({ type: 'watch', pid, signal });
    },
    async release() {
      if (!child.connected) return;
      // Handed to the OS before the channel closes, so the reaper reads it before the close.
      await new Promise<void>((resolve) => child.send({ type: 'release' }, () => resolve()));
      child.disconnect();
    },
  };
}

/** Whether a process with this pid exists (one of another user counts: signalling it is not allowed). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
