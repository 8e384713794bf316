import { parseScriptArgs } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { subsByHandle } from '../tools/cognito/cognito.client.js';
import { listPoolUsers } from '../tools/cognito/cognito-pool.js';

/** Every user of the pool (all pages) as JSON, then the `{handle: sub}` map. */
runScript('cognito:list-users', async ({ args, config, out }) => {
  parseScriptArgs(args, { usage: 'npm run cognito:list-users -- [prod]' });
  const users = await listPoolUsers(config);
  out(JSON.stringify(users, null, 2));
  out(JSON.stringify(subsByHandle(users), null, 2));
});
