import { ConfigError, loadConfig, silenceAwsSdkNodeWarning } from './config/config.js';
import { runMigrations } from './database/migrate.js';

/** The release's one-off task in the API image: `node dist/src/migrate.js` runs the pending Postgres migrations. */
async function main(): Promise<void> {
  silenceAwsSdkNodeWarning();
  const { databaseUrl } = loadConfig();
  if (!databaseUrl) throw new ConfigError('Invalid configuration: DATABASE_URL is required');
  const ran = await runMigrations(databaseUrl);
  console.log(ran.length ? ran.map((name) => `ran migration ${name}`).join('\n') : 'no pending migrations');
}

main().catch((error: unknown) => {
  console.error(`migrate: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  process.exit(1);
});
