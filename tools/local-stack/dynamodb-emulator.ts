import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { LocalStackError } from './ports.js';

export interface DynamoDbEmulator {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * dynalite (the DynamoDB API over LevelDB) in this process, its data under `path`. In-process
 * rather than a child: it is plain JavaScript with nothing process-wide to configure, so it can
 * listen on port 0 and report readiness by a promise, and closing it flushes LevelDB.
 */
export async function startDynamoDbEmulator(options: { path: string; port: number; host?: string }): Promise<DynamoDbEmulator> {
  const host = options.host ?? '127.0.0.1';
  mkdirSync(options.path, { recursive: true });
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port, host, resolve));
  } catch (error) {
    if ((error as { code?: string }).code === 'EADDRINUSE') {
      throw new LocalStackError(
        `DynamoDB emulator: port ${options.port} is already in use (is another \`npm run local\` running? set LOCAL_DYNAMODB_PORT to use another port)`,
      );
    }
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    stop: () => new Promise<void>((resolve, reject) => server.close((err?: Error) => (err ? reject(err) : resolve()))),
  };
}
