// The API under test in a process of its own (the compiled app in dist/, which jest's globalSetup
// builds), as it runs in production: inside the jest worker, whose heap holds ts-jest's
// type-checking program (1-2 GB), the same app runs several times slower (see service-stack.ts).
//
// Options (JSON in RELIABILITY_SERVICE): env (the app's environment), projector (optional):
// { failShare, maxAttempts, backoffMs }. Without `projector` the app's own change-capture emulator
// runs as configured; with it, the app's emulator is off and an emulator with these retry settings
// runs a projector whose DynamoDB client (its own, as the Lambda's would be) fails `failShare` of
// its commands with a throttling error before they reach the table.
//
// IPC: reports { ready: port }; answers { id, result } or { id, error } to { id, cmd }:
// drain, stats, failShare (args: share), stop.
import { createApp } from '../../dist/src/app.factory.js';
import { loadConfig, silenceAwsSdkNodeWarning } from '../../dist/src/config/config.js';
import { createDynamoDbClient } from '../../dist/src/dynamodb/dynamodb.client.js';
import { MessagesRepository } from '../../dist/src/dynamodb/messages.repository.js';
import { ChangeCaptureEmulator } from '../../dist/src/stream/change-capture.emulator.js';
import { createStreamHandler, streamLogger } from '../../dist/src/stream/stream.handler.js';

silenceAwsSdkNodeWarning();
const options = JSON.parse(process.env.RELIABILITY_SERVICE ?? '{}');

const stats = { projectorCommands: 0, faultsInjected: 0, faultsByCommand: {}, logged: {}, polluted: [] };
const prototypeAtStart = new Set(Object.getOwnPropertyNames(Object.prototype));
// The projector's logs, counted by message instead of printed (failures provoked on purpose are expected).
for (const level of ['error', 'warn', 'info']) {
  streamLogger[level] = (message) => {
    const key = `${level}: ${String(message)}`;
    stats.logged[key] = (stats.logged[key] ?? 0) + 1;
  };
}

let failShare = options.projector?.failShare ?? 0;
const config = loadConfig({ ...options.env, ...(options.projector ? { STREAM_EMULATOR: 'off' } : {}) });
const app = await createApp(config, { logger: false });
await app.init();

let emulator = app.get(ChangeCaptureEmulator);
let projectorClient;
if (options.projector) {
  projectorClient = createDynamoDbClient(config);
  projectorClient.middlewareStack.add(
    (next, context) => async (args) => {
      stats.projectorCommands++;
      if (Math.random() < failShare) {
        stats.faultsInjected++;
        stats.faultsByCommand[context.commandName] = (stats.faultsByCommand[context.commandName] ?? 0) + 1;
        throw Object.assign(new Error(`injected failure of ${context.commandName}`), { name: 'ProvisionedThroughputExceededException' });
      }
      return next(args);
    },
    { step: 'initialize', name: 'reliabilityFaults' },
  );
  emulator = ChangeCaptureEmulator.attach(app.get(MessagesRepository), {
    handler: createStreamHandler({ repository: MessagesRepository.create(projectorClient, config.dynamodb.table), logger: streamLogger }),
    maxAttempts: options.projector.maxAttempts,
    backoffMs: options.projector.backoffMs,
    logger: streamLogger,
  });
}

await app.listen(0, '127.0.0.1');

const commands = {
  drain: () => emulator.drain(),
  stats: () => ({ ...stats, polluted: Object.getOwnPropertyNames(Object.prototype).filter((name) => !prototypeAtStart.has(name)) }),
  failShare: (share) => {
    failShare = share;
  },
  stop: async () => {
    emulator.stop();
    await emulator.drain();
    await app.close();
    projectorClient?.destroy();
  },
};

process.on('message', async ({ id, cmd, args = [] }) => {
  try {
    const result = await commands[cmd](...args);
    process.send({ id, result: result ?? null });
    if (cmd === 'stop') process.disconnect();
  } catch (error) {
    process.send({ id, error: String(error?.stack ?? error) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: app.getHttpServer().address().port });
