import { parseScriptArgs } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { withUsersService } from '../tools/database/open-database.js';
import { seedDemoUsers } from '../tools/seed/demo-users.seed.js';

runScript('db:seed', async ({ args, config, out }) => {
  parseScriptArgs(args, { usage: 'npm run db:seed -- [prod]' });
  out(JSON.stringify(await withUsersService(config, seedDemoUsers), null, 2));
});
