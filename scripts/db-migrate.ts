import { parseScriptArgs } from '../src/cli/args.js';
import { runScript } from '../src/cli/cli.js';
import { openDatabase } from '../src/database/open-database.js';

runScript('db:migrate', async ({ args, config, out }) => {
  parseScriptArgs(args, { usage: 'npm run db:migrate -- [prod]' });
  const dataSource = await openDatabase(config);
  try {
    const ran = await dataSource.runMigrations({ transaction: 'all' });
    for (const migration of ran) out(`ran migration ${migration.name}`);
    if (ran.length === 0) out('no pending migrations');
  } finally {
    await dataSource.destroy();
  }
});
