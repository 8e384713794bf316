import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createApp } from '../src/app.factory.js';
import { loadConfig, silenceAwsSdkNodeWarning } from '../src/config/config.js';
import { DYNAMODB_CLIENT } from '../src/dynamodb/dynamodb.module.js';
import { ChangeCaptureEmulator } from '../src/stream/change-capture.emulator.js';
import { meterCapacity } from './capacity-meter.js';
import { firstLine, serveRequests } from './processes.js';

/*
 * The API under test, in a process of its own (so its RSS is its own), configured from its
 * environment as `npm run start:prod` is, with warnings and errors logged only. Besides HTTP it answers the
 * bench over IPC: capacity metering of its DynamoDB client (the routes' and the projector's
 * commands), draining the change-capture emulator, and its memory usage.
 */
async function main(): Promise<void> {
  silenceAwsSdkNodeWarning();
  const config = loadConfig(process.env);
  const app = await createApp(config, { logger: ['error', 'warn'] });
  const meter = meterCapacity(app.get<symbol, DynamoDBClient>(DYNAMODB_CLIENT));
  const emulator = app.get(ChangeCaptureEmulator);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  serveRequests(
    port,
    {
      'capacity:start': () => meter.start(),
      'capacity:stop': () => meter.stop(),
      drain: () => emulator.drain(),
      memory: (args) => {
        if ((args as { gc?: boolean } | undefined)?.gc) (globalThis as { gc?: () => void }).gc?.();
        return process.memoryUsage();
      },
    },
    () => app.close(),
  );
}

main().catch((error: unknown) => {
  console.error(`api-server: ${firstLine(error)}`);
  process.exit(1);
});
