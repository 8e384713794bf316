import { parseScriptArgs } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { createDynamoDbClient } from '../src/dynamodb/dynamodb.client.js';
import { describeDynamoTarget, listTableNames } from '../tools/dynamodb/message-table.js';

runScript('ddb:list-tables', async ({ args, config, out }) => {
  parseScriptArgs(args, { usage: 'npm run ddb:list-tables -- [prod]' });
  const client = createDynamoDbClient(config);
  try {
    const names = await listTableNames(client);
    for (const name of names) out(name);
    if (names.length === 0) process.stderr.write(`no tables at ${describeDynamoTarget(config)}\n`);
  } finally {
    client.destroy();
  }
});
