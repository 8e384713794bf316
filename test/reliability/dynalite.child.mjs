// dynalite in a process of its own, so that the reliability suite can kill it and start it again on
// the same port and data directory (a real database restart, not a simulated one). Started by
// service-stack.ts with fork(); reports `{ ready: port }` over IPC once it listens.
// Message 'close': stop gracefully (finish in-flight requests, close LevelDB), then exit.
import dynalite from 'dynalite';

const { port, path } = JSON.parse(process.env.RELIABILITY_DYNALITE ?? '{}');
const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

server.once('error', (error) => {
  process.send?.({ error: String(error) });
  process.exit(1);
});
server.listen(port ?? 0, '127.0.0.1', () => process.send?.({ ready: server.address().port }));

// Keep-alive connections of the API would hold close() open: once closing, each connection is
// closed as soon as its response is done (close() itself closes those idle at that moment).
let closing = false;
server.on('request', (_, res) => res.once('finish', () => closing && setImmediate(() => server.closeIdleConnections())));

process.on('message', (message) => {
  if (message !== 'close') return;
  closing = true;
  server.close(() => process.exit(0));
});
// Never outlive the test that started this process.
process.on('disconnect', () => process.exit(0));
