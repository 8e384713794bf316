import { loadConfig, silenceAwsSdkNodeWarning } from './config/config.js';
import { createApp } from './app.factory.js';

/** Starts the API with the configuration from the environment (for AWS and docker-compose). */
async function main(): Promise<void> {
  silenceAwsSdkNodeWarning();
  const config = loadConfig();
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  console.log(`cruddur-messaging listening on ${await app.getUrl()}/api`);
}

main().catch((error: unknown) => {
  console.error(`cruddur-messaging: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  process.exit(1);
});
