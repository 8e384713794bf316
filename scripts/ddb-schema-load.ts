import { parseScriptArgs } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { createDynamoDbClient } from '../src/dynamodb/dynamodb.client.js';
import { describeDynamoTarget, ensureMessageTable } from '../tools/dynamodb/message-table.js';
import type { BillingMode } from '../src/dynamodb/table.definition.js';

runScript('ddb:schema-load', async ({ args, config, out }) => {
  const { options } = parseScriptArgs(args, {
    usage: 'npm run ddb:schema-load -- [--provisioned] [prod]',
    options: { provisioned: 'boolean' },
  });
  const billing: BillingMode = options.provisioned ? { mode: 'provisioned', readUnits: 5, writeUnits: 5 } : { mode: 'on-demand' };
  const { table } = config.dynamodb;
  const where = describeDynamoTarget(config);
  const client = createDynamoDbClient(config);
  try {
    const result = await ensureMessageTable(client, table, billing);
    out(result === 'created' ? `created table ${table} (${billing.mode}) at ${where}` : `table ${table} already exists at ${where}`);
  } finally {
    client.destroy();
  }
});
