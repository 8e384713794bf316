import { parseScriptArgs } from '../src/cli/args.js';
import { runScript } from '../src/cli/cli.js';
import { withUsersService } from '../src/database/open-database.js';
import { seedDemoUsers } from '../src/seed/demo-users.seed.js';

runScript('db:seed', async ({ args, config, out }) => {
  parseScriptArgs(args, { usage: 'npm run db:seed -- [prod]' });
  out(JSON.stringify(await withUsersService(config, seedDemoUsers), null, 2));
});
