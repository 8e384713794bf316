import { parseScriptArgs, usageError } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { TABLE_NAME_PATTERN } from '../src/config/config.js';
import { createDynamoDbClient } from '../src/dynamodb/dynamodb.client.js';
import { describeDynamoTarget, dropTable } from '../tools/dynamodb/message-table.js';

runScript('ddb:drop', async ({ args, prod, config, out }) => {
  const spec = {
    usage: 'npm run ddb:drop -- <table> [--yes] [prod]  (--yes is required with prod)',
    positionals: { min: 1, max: 1 },
    options: { yes: 'boolean' },
  } as const;
  const {
    positionals: [table],
    options,
  } = parseScriptArgs(args, spec);
  if (!TABLE_NAME_PATTERN.test(table)) throw usageError(spec, `not a table name: ${JSON.stringify(table)}`);
  const where = describeDynamoTarget(config);
  if (prod && !options.yes) throw usageError(spec, `refusing to drop ${table} at ${where} without --yes`);
  const client = createDynamoDbClient(config);
  try {
    const result = await dropTable(client, table);
    out(result === 'dropped' ? `dropped table ${table} at ${where}` : `table ${table} does not exist at ${where}; nothing to drop`);
  } finally {
    client.destroy();
  }
});
