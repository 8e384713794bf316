import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, loadConfig, silenceAwsSdkNodeWarning, type AppConfig } from '../../src/config/config.js';

/** A mistake in how a script was called: printed as one line (the usage), exit code 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Where `npm run local` says its parts are: `.local/stack.json`, which the scripts read. */
export interface LocalStackInfo {
  apiUrl: string;
  dynamodbEndpoint: string;
  table: string;
  cognitoEndpoint: string;
  userPoolId: string;
  userPoolClientId: string;
  databaseUrl: string;
}

export const LOCAL_STACK_FILE = resolve('.local', 'stack.json');

export function readLocalStack(file = LOCAL_STACK_FILE): LocalStackInfo | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalStackInfo;
  } catch {
    return undefined;
  }
}

export interface ScriptContext {
  /** Arguments without the `prod` target word. */
  args: string[];
  /** True when the operator passed `prod`: the script talks to AWS. */
  prod: boolean;
  config: AppConfig;
  out: (line: string) => void;
  /** A line on stderr (a problem the operator must see, with the exit code the script returns). */
  err: (line: string) => void;
}

/**
 * The configuration a script works against. `prod` means AWS (the endpoints from the environment,
 * or AWS's own), and never the in-process stream emulator: the table's stream drives the Lambda.
 * Otherwise the local endpoints: those in the environment, else the ones the running `npm run
 * local` wrote to `.local/stack.json` (else the stack's default ports). Without APP_ENV, the
 * defaults follow the DynamoDB endpoint the script ends up with (see `isLocalEndpoint`).
 */
export function scriptConfig(prod: boolean, env: NodeJS.ProcessEnv = process.env, stackFile = LOCAL_STACK_FILE): AppConfig {
  if (prod) return { ...loadConfig(env), streamEmulator: false };
  const stack = readLocalStack(stackFile);
  const endpointSet = Boolean(env.DYNAMODB_ENDPOINT?.trim() || env.AWS_ENDPOINT_URL?.trim());
  const config = loadConfig(endpointSet ? env : { ...env, DYNAMODB_ENDPOINT: stack?.dynamodbEndpoint ?? 'http://127.0.0.1:8000' });
  return {
    ...config,
    dynamodb: {
      endpoint: config.dynamodb.endpoint,
      table: env.DDB_MESSAGE_TABLE?.trim() ? config.dynamodb.table : (stack?.table ?? config.dynamodb.table),
    },
    databaseUrl: config.databaseUrl ?? stack?.databaseUrl,
    cognito: {
      userPoolId: config.cognito.userPoolId ?? stack?.userPoolId,
      clientId: config.cognito.clientId ?? stack?.userPoolClientId,
      endpoint: config.cognito.endpoint ?? stack?.cognitoEndpoint ?? 'http://127.0.0.1:9229',
    },
  };
}

/**
 * Runs a script's main function: any failure becomes one line on stderr and a non-zero exit code
 * (1), never a stack trace. A main function that completes may return its exit code (default 0).
 */
export function runScript(name: string, main: (ctx: ScriptContext) => Promise<number | void>, argv = process.argv.slice(2)): void {
  silenceAwsSdkNodeWarning();
  const prod = argv.includes('prod');
  const args = argv.filter((a) => a !== 'prod');
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  Promise.resolve()
    .then(() => main({ args, prod, config: scriptConfig(prod), out, err }))
    .then(
      (code) => exitAfterOutput(code ?? 0),
      (error: unknown) => {
        process.stderr.write(`${name}: ${describeError(error)}\n`);
        exitAfterOutput(1);
      },
    );
}

/** Writes to a pipe are asynchronous: exiting at once would cut off a long output. */
function exitAfterOutput(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

/** One line for an operator, whatever failed. */
export function describeError(error: unknown): string {
  if (error instanceof UsageError || error instanceof ConfigError) return error.message;
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: string }).code ?? (error.cause as { code?: string } | undefined)?.code;
  if (code === 'ECONNREFUSED' || (error.name === 'AggregateError' && /ECONNREFUSED/.test(String((error as AggregateError).errors)))) {
    return `cannot reach the service (${describeTarget(error)}connection refused); is it running? (npm run local)`;
  }
  if (code === '42P01') return `${error.message} (has the database been migrated? npm run db:migrate)`; // pg: undefined_table
  if (error.name === 'ResourceNotFoundException') return `${error.message} (has the table been created? npm run ddb:schema-load)`;
  return error.message.split('\n')[0];
}

function describeTarget(error: Error): string {
  const address = (error as { address?: string; port?: number }).address;
  const port = (error as { port?: number }).port;
  return address ? `${address}:${port} ` : '';
}
