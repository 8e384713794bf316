import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { serveRequests } from './processes.js';

/*
 * dynalite in a process of its own, as a database would run: the bench's load, the API and this
 * process do not share an event loop. In memory (like DynamoDB Local's -inMemory).
 */
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  serveRequests(
    port,
    { memory: () => process.memoryUsage() },
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
});
