import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * The bench's child processes (dynalite, the API, the framework-ceiling app) and the clean-up of
 * everything the bench starts, also on Ctrl-C and on failure.
 */

/** A failure the operator can act on; printed as one line, without a stack trace. */
export class BenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchError';
  }
}

type Cleanup = { label: string; run: () => Promise<void> | void };
const cleanups: Cleanup[] = [];

/** Registers a clean-up; they run newest first, once, from `cleanUp()` or on SIGINT/SIGTERM. */
export function onCleanup(label: string, run: () => Promise<void> | void): () => void {
  const entry = { label, run };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export async function cleanUp(log: (line: string) => void = () => undefined): Promise<void> {
  for (const { label, run } of cleanups.splice(0).reverse()) {
    try {
      await run();
    } catch (error) {
      log(`clean-up of ${label} failed: ${firstLine(error)}`);
    }
  }
}

/** Ctrl-C (or SIGTERM) stops what was started and exits 130. */
export function cleanUpOnSignals(log: (line: string) => void): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`\n${signal}: stopping the bench stack…`);
    const force = setTimeout(() => process.exit(130), 15_000);
    force.unref();
    void cleanUp(log).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

/** Messages a bench child sends over IPC. */
export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

export interface BenchChild {
  name: string;
  pid: number;
  port: number;
  /** Asks the child to do something and waits for its answer (see `serveRequests`). */
  request<T>(command: string, args?: unknown): Promise<T>;
  /** Asks the child to stop (then SIGTERM, then SIGKILL) and waits until it is gone. */
  stop(): Promise<void>;
}

export interface StartChildOptions {
  name: string;
  /** A compiled entry point under dist/bench. */
  script: string;
  env: NodeJS.ProcessEnv;
  /** Its stdout and stderr go to `{logDir}/{name}.log`. */
  logDir: string;
  execArgv?: string[];
  readyTimeoutMs?: number;
}

/**
 * Forks a Node child that says `{type: 'ready', port}` when it listens. The child is a process of
 * its own (its RSS is its own); it exits by itself when the IPC channel closes (the bench died).
 */
export async function startChild(options: StartChildOptions): Promise<BenchChild> {
  const logFile = join(options.logDir, `${options.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child: ChildProcess = fork(options.script, [], {
    env: options.env,
    execArgv: options.execArgv ?? [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let nextId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (message: ChildMessage) => {
    if (message.type !== 'reply') return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.ok) waiter?.resolve(message.result);
    else waiter?.reject(new BenchError(`${options.name}: ${message.error}`));
  });
  child.once('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new BenchError(`${options.name} exited (${signal ?? code})`));
    pending.clear();
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return exited;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      if (child.connected) child.send({ type: 'stop' });
      const term = setTimeout(() => child.kill('SIGTERM'), 5_000);
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(term);
      clearTimeout(kill);
    }
    await new Promise<void>((resolve) => log.end(resolve));
  };
  onCleanup(options.name, stop);

  const port = await new Promise<number>((resolve, reject) => {
    const timeoutMs = options.readyTimeoutMs ?? 30_000;
    const timer = setTimeout(
      () => reject(new BenchError(`${options.name} did not start within ${timeoutMs / 1000} s (see ${logFile})`)),
      timeoutMs,
    );
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.port);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new BenchError(`${options.name} exited at start (${signal ?? code}): ${lastLine(logFile) || 'no output'}`));
    });
  });

  return {
    name: options.name,
    pid: child.pid!,
    port,
    request: <T>(command: string, args?: unknown) =>
      new Promise<T>((resolve, reject) => {
        if (!child.connected) return reject(new BenchError(`${options.name} is not running`));
        const id = ++nextId;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ type: 'request', id, command, args });
      }),
    stop,
  };
}

function lastLine(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '';
  } catch {
    return '';
  }
}

/* ---- the child's side ---- */

type Handler = (args: unknown) => unknown;

/**
 * In a child: tells the parent it listens on `port`, answers its requests with `handlers`, and
 * runs `stop` when asked to, when the parent goes away, or on SIGTERM/SIGINT.
 */
export function serveRequests(port: number, handlers: Record<string, Handler>, stop: () => Promise<void>): void {
  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= stop()
      .catch(() => undefined)
      .finally(() => process.exit(0));
    return stopping;
  };
  process.on('message', (message: { type: string; id?: number; command?: string; args?: unknown }) => {
    if (message.type === 'stop') return void shutdown();
    if (message.type !== 'request' || message.id === undefined) return;
    const handler = handlers[message.command ?? ''];
    const reply = (body: Record<string, unknown>) => process.connected && process.send!({ type: 'reply', id: message.id, ...body });
    if (!handler) return void reply({ ok: false, error: `unknown command ${message.command}` });
    Promise.resolve()
      .then(() => handler(message.args))
      .then(
        (result) => reply({ ok: true, result: result ?? null }),
        (error: unknown) => reply({ ok: false, error: firstLine(error) }),
      );
  });
  process.on('disconnect', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  process.send!({ type: 'ready', port });
}
