import { parseScriptArgs } from '../src/cli/args.js';
import { runScript } from '../src/cli/cli.js';
import { describeDynamoTarget } from '../src/dynamodb/message-table.js';
import { openMessagesRepository } from '../src/dynamodb/open-messages-repository.js';

runScript('ddb:scan', async ({ args, config, out }) => {
  parseScriptArgs(args, { usage: 'npm run ddb:scan -- [prod]' });
  const { repository, close } = openMessagesRepository(config);
  try {
    let count = 0;
    for await (const item of repository.scanAll()) {
      out(JSON.stringify(item));
      count++;
    }
    process.stderr.write(`${count} items in ${config.dynamodb.table} at ${describeDynamoTarget(config)}\n`);
  } finally {
    await close();
  }
});
