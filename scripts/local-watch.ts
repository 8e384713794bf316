import { setTimeout as delay } from 'node:timers/promises';
import { parseScriptArgs } from '../tools/cli/args.js';
import { LOCAL_STACK_FILE, readLocalStack, runScript, UsageError } from '../tools/cli/cli.js';
import { createCognitoClient } from '../tools/cognito/cognito.client.js';
import { demoUserAccessToken } from '../tools/cognito/cognito-demo-users.js';
import { describeEvent, readEventStream } from '../tools/live/event-stream.js';

const USAGE = 'npm run -s local:watch -- <handle>';
/** Between reconnections (the server's own retry advice is 3 s; a local stack restarts faster). */
const RECONNECT_MS = 1_000;

/**
 * Prints a demo user's live events (GET /api/events of the running `npm run local`), one line each,
 * until Ctrl-C. A dropped stream is resumed with Last-Event-ID and a fresh token, so nothing is missed.
 */
runScript('local:watch', async ({ args, prod, config, out, err }) => {
  if (prod) throw new UsageError(`local:watch watches the local stack only (usage: ${USAGE})`);
  const [handle] = parseScriptArgs(args, { usage: USAGE, positionals: { min: 1, max: 1 } }).positionals;
  const stack = readLocalStack(LOCAL_STACK_FILE);
  if (!stack) throw new UsageError(`no local stack found (${LOCAL_STACK_FILE}); start one with npm run local`);
  const cognito = createCognitoClient({ aws: config.aws, cognito: { endpoint: stack.cognitoEndpoint } });
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  let lastEventId: string | undefined;
  try {
    while (!stop.signal.aborted) {
      const token = await demoUserAccessToken(cognito, stack.userPoolClientId, handle);
      const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
      if (lastEventId) headers['Last-Event-ID'] = lastEventId;
      try {
        const response = await fetch(`${stack.apiUrl}/api/events`, { headers, signal: stop.signal });
        if (!response.ok || !response.body) {
          err(`local:watch: ${response.status} ${await response.text()}`);
          return 1;
        }
        err(`watching @${handle}'s live events on ${stack.apiUrl} (Ctrl-C stops)`);
        for await (const event of readEventStream(response.body, (id) => (lastEventId = id))) out(describeEvent(event));
      } catch (error) {
        if (stop.signal.aborted) break;
        err(`local:watch: stream lost (${(error as Error).message}); reconnecting`);
      }
      if (!stop.signal.aborted) await delay(RECONNECT_MS, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    cognito.destroy();
  }
  return 0;
});
