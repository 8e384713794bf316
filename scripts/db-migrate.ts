import { runMigrations } from '../src/database/migrate.js';
import { parseScriptArgs } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { requireDatabaseUrl } from '../tools/database/open-database.js';

runScript('db:migrate', async ({ args, config, out }) => {
  parseScriptArgs(args, { usage: 'npm run db:migrate -- [prod]' });
  const ran = await runMigrations(requireDatabaseUrl(config));
  for (const name of ran) out(`ran migration ${name}`);
  if (ran.length === 0) out('no pending migrations');
});
