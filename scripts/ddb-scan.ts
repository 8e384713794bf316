import { parseScriptArgs } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { describeDynamoTarget } from '../tools/dynamodb/message-table.js';
import { openMessagesRepository } from '../tools/dynamodb/open-messages-repository.js';

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
