import { createServer } from 'node:net';

/** A failure of the local stack that an operator can fix; its message is one line. */
export class LocalStackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalStackError';
  }
}

/** A port that was free a moment ago (the OS picks it). For parts that cannot listen on port 0 themselves. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Fails with one line when `port` is taken. Checked before starting a child process, whose own
 * bind error would otherwise only show in its log, while the readiness probe reached whatever
 * already listens there.
 */
export async function assertPortFree(port: number, what: string, setting: string, host = '127.0.0.1'): Promise<void> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      throw new LocalStackError(
        `${what}: port ${port} is already in use (is another \`npm run local\` running? set ${setting} to use another port)`,
      );
    }
    if (code === 'EACCES') throw new LocalStackError(`${what}: port ${port} needs privileges (set ${setting} to a port above 1023)`);
    throw error;
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** `port`, or a free one when it is 0. */
export async function portOrFree(port: number): Promise<number> {
  return port === 0 ? freePort() : port;
}
