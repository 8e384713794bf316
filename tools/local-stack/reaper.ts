import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Stops the stack's child processes (cognito-local, the embedded Postgres) when the stack itself is
 * killed without a chance to stop them (SIGKILL, the OOM killer): otherwise they would keep running,
 * holding their ports and data directories, in the way of the next `npm run local`.
 */
export interface Reaper {
  /** Stop `pid` with `signal` should the stack die while it runs. */
  watch(pid: number, signal: NodeJS.Signals): void;
  /** `pid` has exited: nothing to stop (its number may be reused by another process). */
  unwatch(pid: number): void;
  /** The stack is done: the reaper stops whatever is still watched (a child whose stop failed) and exits. */
  close(): void;
}

/**
 * The reaper: a Node process connected to the stack by an IPC channel. It learns what to stop; when
 * the channel closes (the stack closed it, or exited, even by SIGKILL) it signals what is still
 * watched and exits. Inline, so it runs the same from dist/ and under the tests' TypeScript loader.
 */
const REAPER_SOURCE = `
const watched = new Map();
process.on('message', (m) => {
  if (m.type === 'watch') watched.set(m.pid, m.signal);
  if (m.type === 'unwatch') watched.delete(m.pid);
});
process.on('disconnect', () => {
  for (const [pid, signal] of watched) { try { process.kill(pid, signal); } catch {} }
  process.exit(0);
});
`;

/** A stack without a reaper (it could not be started) still works; only the SIGKILL safety net is missing. */
const NO_REAPER: Reaper = { watch: () => undefined, unwatch: () => undefined, close: () => undefined };

export function startReaper(): Reaper {
  let child: ChildProcess;
  try {
    // Detached: its own session, so the Ctrl-C that reaches the stack's process group does not end
    // it before the stack has stopped its children. Without NODE_OPTIONS (no inspector or loaders).
    const { NODE_OPTIONS: _ignored, ...env } = process.env;
    child = spawn(process.execPath, ['-e', REAPER_SOURCE], { detached: true, env, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  } catch {
    return NO_REAPER;
  }
  // Unref'd: it never keeps the stack's process alive. Its failures only cost the safety net.
  child.unref();
  child.channel?.unref();
  child.on('error', () => undefined);
  const send = (message: object) => {
    if (child.connected) child.send(message, () => undefined);
  };
  return {
    watch: (pid, signal) => send({ type: 'watch', pid, signal }),
    unwatch: (pid) => send({ type: 'unwatch', pid }),
    close: () => {
      if (child.connected) child.disconnect();
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
