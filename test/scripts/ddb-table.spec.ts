import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createMessageTable, dropTable, dynamoClient, startDynalite, uniqueTableName } from '../support/dynamodb.js';
import { runScript } from '../support/run-script.js';
import { expectOneLineFailure, scratchDirectory, UNREACHABLE_DYNAMODB } from './script-expectations.js';

let stopDynalite: () => Promise<void>;
let endpoint: string;
let client: DynamoDBClient;
let cwd: ReturnType<typeof scratchDirectory>;
const created: string[] = [];

beforeAll(async () => {
  ({ endpoint, stop: stopDynalite } = await startDynalite());
  client = dynamoClient(endpoint);
  cwd = scratchDirectory();
});

afterAll(async () => {
  for (const table of created) await dropTable(client, table).catch(() => undefined);
  client.destroy();
  await stopDynalite();
  cwd.remove();
});

function run(script: string, args: string[], table = 'unused-table', env: Record<string, string> = {}) {
  return runScript(script, args, { DYNAMODB_ENDPOINT: endpoint, DDB_MESSAGE_TABLE: table, ...env }, cwd.path);
}

function newTableName(): string {
  const name = uniqueTableName('script-table');
  created.push(name);
  return name;
}

async function tableDescription(table: string) {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: table }))).Table;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

describe('ddb:schema-load', () => {
  it('creates the messages table from the shared definition, on demand', async () => {
    const table = newTableName();

    const result = await run('ddb-schema-load', [], table);

    expect(result).toEqual({ code: 0, stdout: `created table ${table} (on-demand) at ${endpoint}\n`, stderr: '' });
    const description = await tableDescription(table);
    expect(description?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(description?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema, i.Projection?.ProjectionType])).toEqual([
      [
        'message-group-sk-index',
        [
          { AttributeName: 'message_group_uuid', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        'ALL',
      ],
    ]);
    // dynalite has no Streams API, so it reports no StreamSpecification to compare.
    expect(description?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('creates a provisioned table with 5/5 units when asked', async () => {
    const table = newTableName();

    const result = await run('ddb-schema-load', ['--provisioned'], table);

    expect(result).toMatchObject({ code: 0, stdout: `created table ${table} (provisioned) at ${endpoint}\n` });
    const description = await tableDescription(table);
    expect(description?.BillingModeSummary?.BillingMode ?? 'PROVISIONED').toBe('PROVISIONED');
    expect(description?.ProvisionedThroughput).toMatchObject({ ReadCapacityUnits: 5, WriteCapacityUnits: 5 });
    expect(description?.GlobalSecondaryIndexes?.[0].ProvisionedThroughput).toMatchObject({ ReadCapacityUnits: 5, WriteCapacityUnits: 5 });
  });

  it('says so and succeeds when the table already exists', async () => {
    const table = await createMessageTable(client, newTableName());

    const result = await run('ddb-schema-load', [], table);

    expect(result).toEqual({ code: 0, stdout: `table ${table} already exists at ${endpoint}\n`, stderr: '' });
  });

  it('rejects an unknown option with one usage line and creates nothing', async () => {
    const table = newTableName();

    const result = await run('ddb-schema-load', ['--on-demand'], table);

    expectOneLineFailure(
      result,
      'ddb:schema-load',
      /unknown option --on-demand \(usage: npm run ddb:schema-load -- \[--provisioned\] \[prod\]\)/,
    );
    await expect(tableDescription(table)).resolves.toBeUndefined();
  });

  it('fails with one line when DynamoDB is unreachable', async () => {
    const result = await run('ddb-schema-load', [], newTableName(), { DYNAMODB_ENDPOINT: UNREACHABLE_DYNAMODB });

    expectOneLineFailure(result, 'ddb:schema-load', /cannot reach the service \(127\.0\.0\.1:1 connection refused\)/);
  });
});

describe('ddb:list-tables', () => {
  it('prints every table name, one a line', async () => {
    const tables = [await createMessageTable(client, newTableName()), await createMessageTable(client, newTableName())];

    const result = await run('ddb-list-tables', []);

    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual(expect.arrayContaining(tables));
    expect(result.stdout).toMatch(/^([A-Za-z0-9_.-]+\n)+$/);
  });

  it('says on stderr that there are no tables', async () => {
    const empty = await startDynalite();
    try {
      const result = await run('ddb-list-tables', [], 'unused-table', { DYNAMODB_ENDPOINT: empty.endpoint });

      expect(result).toEqual({ code: 0, stdout: '', stderr: `no tables at ${empty.endpoint}\n` });
    } finally {
      await empty.stop();
    }
  });

  it('rejects an extra argument with one usage line', async () => {
    const result = await run('ddb-list-tables', ['all']);

    expectOneLineFailure(result, 'ddb:list-tables', /unexpected argument "all" \(usage: npm run ddb:list-tables -- \[prod\]\)/);
  });

  it('fails with one line when DynamoDB is unreachable', async () => {
    const result = await run('ddb-list-tables', [], 'unused-table', { DYNAMODB_ENDPOINT: UNREACHABLE_DYNAMODB });

    expectOneLineFailure(result, 'ddb:list-tables', /cannot reach the service/);
  });
});

describe('ddb:drop', () => {
  it('prints its usage and fails without a table name', async () => {
    const result = await run('ddb-drop', []);

    expectOneLineFailure(result, 'ddb:drop', /missing argument \(usage: npm run ddb:drop -- <table> \[--yes\] \[prod\]/);
  });

  it('drops the named table locally without asking', async () => {
    const table = await createMessageTable(client, newTableName());

    const result = await run('ddb-drop', [table]);

    expect(result).toEqual({ code: 0, stdout: `dropped table ${table} at ${endpoint}\n`, stderr: '' });
    await expect(tableDescription(table)).resolves.toBeUndefined();
  });

  it('refuses to drop a prod table without --yes, leaving it in place', async () => {
    const table = await createMessageTable(client, newTableName());

    const result = await run('ddb-drop', [table, 'prod']);

    expectOneLineFailure(result, 'ddb:drop', new RegExp(`refusing to drop ${table} at .* without --yes`));
    await expect(tableDescription(table)).resolves.toBeDefined();
  });

  it('drops a prod table with --yes', async () => {
    const table = await createMessageTable(client, newTableName());

    const result = await run('ddb-drop', ['prod', table, '--yes']);

    expect(result).toMatchObject({ code: 0, stdout: `dropped table ${table} at ${endpoint}\n` });
    await expect(tableDescription(table)).resolves.toBeUndefined();
  });

  it('succeeds with a note when the table does not exist', async () => {
    const table = newTableName();

    const result = await run('ddb-drop', [table]);

    expect(result).toEqual({ code: 0, stdout: `table ${table} does not exist at ${endpoint}; nothing to drop\n`, stderr: '' });
  });

  it('rejects a malformed table name, an extra argument or an unknown option and drops nothing', async () => {
    const table = await createMessageTable(client, newTableName());

    const results = await Promise.all([
      run('ddb-drop', ['x']),
      run('ddb-drop', [table, 'other-table']),
      run('ddb-drop', [table, '--force']),
    ]);

    expectOneLineFailure(results[0], 'ddb:drop', /not a table name: "x"/);
    expectOneLineFailure(results[1], 'ddb:drop', /unexpected argument "other-table"/);
    expectOneLineFailure(results[2], 'ddb:drop', /unknown option --force/);
    await expect(tableDescription(table)).resolves.toBeDefined();
  });

  it('fails with one line when DynamoDB is unreachable', async () => {
    const result = await run('ddb-drop', ['some-table'], 'unused-table', { DYNAMODB_ENDPOINT: UNREACHABLE_DYNAMODB });

    expectOneLineFailure(result, 'ddb:drop', /cannot reach the service/);
  });
});

describe("the scripts' configuration", () => {
  it.each([['local'], ['localhost']])(
    'accepts AWS_REGION=%s, as DynamoDB Local users set it, when an endpoint is configured',
    async (region) => {
      const table = await createMessageTable(client, newTableName());

      const result = await run('ddb-list-tables', [], 'unused-table', { AWS_REGION: region });

      expect(result.code).toBe(0);
      expect(result.stdout.split('\n')).toContain(table);
    },
  );

  it('refuses AWS_REGION=local for AWS (prod without an endpoint) with one line', async () => {
    const result = await runScript('ddb-list-tables', ['prod'], { AWS_REGION: 'local' }, cwd.path);

    expectOneLineFailure(result, 'ddb:list-tables', /Invalid configuration: AWS_REGION .*\(got "local"\)/);
  });

  it.each([
    ['prod', ['prod'], {}],
    ['an AWS endpoint', [], { DYNAMODB_ENDPOINT: 'https://dynamodb.us-east-1.amazonaws.com' }],
  ])('refuses STREAM_EMULATOR=on against AWS (%s) with one line, before any request', async (_what, args, env) => {
    const result = await runScript('ddb-list-tables', args, { APP_ENV: '', STREAM_EMULATOR: 'on', ...env }, cwd.path);

    expectOneLineFailure(
      result,
      'ddb:list-tables',
      /^ddb:list-tables: Invalid configuration: STREAM_EMULATOR=on needs a local DynamoDB endpoint/,
    );
  });
});
