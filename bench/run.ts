import type autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScriptArgs, usageError } from '../tools/cli/args.js';
import { UsageError } from '../tools/cli/cli.js';
import { silenceAwsSdkNodeWarning } from '../src/config/config.js';
import { ApiClient } from './api-client.js';
import { measureCapacity } from './capacity.js';
import { cpuMeter } from './cpu.js';
import { httpDriver, loopDriver, measureCases, type CaseSpec, type HttpLoad, type Timing } from './load.js';
import { sampleRss } from './memory.js';
import { BenchError, cleanUp, cleanUpOnSignals, firstLine } from './processes.js';
import { measureProjectorLag } from './projector-lag.js';
import { rawAccess } from './raw.js';
import { evaluateTargets, formatReport, ratio, type BenchResult, type ScalingPoint } from './report.js';
import { member, Seeder, type SeededConversation } from './seed.js';
import { measureLive } from './live.js';
import { soak } from './soak.js';
import { createUsers, startApi, startCeiling, startNodeFlags, startStack } from './stack.js';

const USAGE =
  'npm run bench -- [--quick] [--soak] [--profile] [--api-node-flags="<node flags>"] | --live [--streams=N] [--rate=N] [--api-node-flags="<node flags>"]';
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results/latest.json');
const LIVE_RESULTS = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results/live.json');

interface Plan {
  mode: 'quick' | 'full';
  soak: boolean;
  connections: number;
  cases: Timing;
  scaling: Timing & { connections: number };
  /** Conversation sizes for the scaling of the messages route; the case-1 conversation is 10,000. */
  messageSizes: [number, number, number];
  /** Conversations of the two users of the conversations-route scaling. */
  groupSizes: [number, number];
  lagMessages: number;
  capacitySamples: number;
  soakS: number;
  /** Where the API's CPU profile goes (--profile), else undefined. */
  profileDir?: string;
  /** Extra Node flags for the API process (--api-node-flags), e.g. a heap limit to try. */
  apiNodeFlags: string[];
}

function makePlan(argv: string[]): Plan {
  const { options } = parseScriptArgs(argv, {
    usage: USAGE,
    options: {
      quick: 'boolean',
      soak: 'boolean',
      profile: 'boolean',
      'api-node-flags': 'string',
      live: 'boolean',
      streams: 'string',
      rate: 'string',
    },
  });
  const quick = options.quick === true;
  return {
    mode: quick ? 'quick' : 'full',
    soak: options.soak === true,
    connections: 32,
    cases: quick ? { durationS: 2, rounds: 2, warmupS: 1 } : { durationS: 5, rounds: 3, warmupS: 3 },
    scaling: quick ? { durationS: 1.5, rounds: 2, warmupS: 0.5, connections: 4 } : { durationS: 3, rounds: 3, warmupS: 1, connections: 4 },
    messageSizes: quick ? [100, 2_000, 10_000] : [100, 10_000, 100_000],
    groupSizes: [10, 5_000],
    lagMessages: quick ? 300 : 1_000,
    capacitySamples: 20,
    soakS: 300,
    profileDir: options.profile ? join(tmpdir(), `cruddur-bench-profile-${Date.now()}`) : undefined,
    apiNodeFlags: nodeFlagsOf(options['api-node-flags']),
  };
}

const CASE_CONVERSATION_SIZE = 10_000;
const POST_CONVERSATIONS = 6;

/** `--api-node-flags="<flags>"`: the extra Node flags of the API process. */
function nodeFlagsOf(value: string | boolean | undefined): string[] {
  return typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : [];
}

/** `--live`: S concurrent event streams on one API process (bench/live.ts); results in bench/results/live.json. */
async function runLive(argv: string[]): Promise<void> {
  const { options } = parseScriptArgs(argv, {
    usage: USAGE,
    options: { live: 'boolean', streams: 'string', rate: 'string', 'api-node-flags': 'string' },
  });
  const apiNodeFlags = nodeFlagsOf(options['api-node-flags']);
  const rate = options.rate === undefined ? 10 : Number(options.rate);
  if (!(rate > 0 && rate <= 1000)) throw usageError({ usage: USAGE }, '--rate must be messages per second, 1 to 1000');
  const streams = options.streams === undefined ? 2_000 : Number(options.streams);
  if (!Number.isInteger(streams) || streams < 10) throw usageError({ usage: USAGE }, '--streams must be a whole number of at least 10');
  const log = (line: string) => console.log(line);
  cleanUpOnSignals(log);
  log(`bench --live: ${streams} streams; starting the stack…`);
  const stack = await startStack(log);
  const receivers = Math.min(50, Math.ceil(streams / 10));
  const [sender, ...users] = await createUsers(stack, ['livesender', ...Array.from({ length: receivers }, (_, i) => `livereader${i}`)]);
  const api = await startApi(stack, {
    env: { LIVE_MAX_STREAMS_PER_USER: String(streams), LIVE_MAX_STREAMS: String(streams * 2) },
    execArgv: apiNodeFlags,
  });
  try {
    const result = await measureLive(api, sender, users, { streams, receivers, messagesPerSecond: rate, durationS: 10 }, log);
    const report = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30) },
      ...result,
    };
    mkdirSync(dirname(LIVE_RESULTS), { recursive: true });
    writeFileSync(LIVE_RESULTS, `${JSON.stringify(report, null, 2)}\n`);
    log(
      `live: ${result.streams} streams, ${result.messages} messages at ${result.messagesPerSecond}/s → ${result.expectedDeliveries} deliveries: ` +
        `${result.delivered} delivered, ${result.lost} lost, ${result.duplicated} duplicated; POST→event p50 ${result.latencyMs.p50} ms, ` +
        `p99 ${result.latencyMs.p99} ms; RSS ${result.rss.perThousandIdleStreamsMb} MB per 1,000 idle streams`,
    );
    log(`results: ${relative(process.cwd(), LIVE_RESULTS)}`);
    if (result.lost !== 0 || result.duplicated !== 0) process.exitCode = 1;
  } finally {
    await cleanUp(log);
  }
}

async function main(): Promise<void> {
  silenceAwsSdkNodeWarning();
  if (process.argv.includes('--live')) return runLive(process.argv.slice(2));
  const plan = makePlan(process.argv.slice(2));
  const started = Date.now();
  const log = (line: string) => console.log(line);
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
  cleanUpOnSignals(log);
  log(`bench (${plan.mode}${plan.soak ? ' + soak' : ''}): starting the stack…`);

  const stack = await startStack(log);
  const [alice, carol] = await createUsers(stack, ['benchalice', 'benchcarol']);

  // Seeding: alice has exactly groupSizes[0] conversations (the three scaling sizes, the POST
  // targets and the projector-lag conversation); carol has groupSizes[1].
  const seeder = new Seeder(stack.dynamo, stack.table);
  const seedStarted = Date.now();
  const bySize = new Map<number, SeededConversation>();
  for (const size of plan.messageSizes) bySize.set(size, await seeder.conversation(alice, member(`partner${size}`), size));
  const postGroups: string[] = [];
  for (let i = 0; i < POST_CONVERSATIONS; i++)
    postGroups.push((await seeder.conversation(alice, member(`poster${i}`), 20)).message_group_uuid);
  const lagGroup = (await seeder.conversation(alice, member('lagpartner'), 20)).message_group_uuid;
  await seeder.conversationList(carol, plan.groupSizes[1]);
  const aliceConversations = plan.messageSizes.length + POST_CONVERSATIONS + 1;
  if (aliceConversations !== plan.groupSizes[0])
    throw new BenchError(`seed: alice has ${aliceConversations} conversations, expected ${plan.groupSizes[0]}`);
  log(
    `seeded          ${seeder.written.toLocaleString('en-US')} items by BatchWriteItem in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`,
  );

  const [ceiling, api] = [await startCeiling(stack), await startApi(stack, { profileDir: plan.profileDir, execArgv: plan.apiNodeFlags })];
  const apiOrigin = `http://127.0.0.1:${api.port}`;
  const rss = sampleRss(api.pid);
  const apiFlags = [...startNodeFlags(), ...plan.apiNodeFlags].join(' ');
  log(
    `API             pid ${api.pid}, ${apiOrigin} (node ${apiFlags}, NODE_ENV=production, logs warn/error); ceiling app pid ${ceiling.pid}  [${elapsed()}]`,
  );

  const raw = rawAccess(stack.dynamo, stack.table);
  const cpu = cpuMeter({ bench: process.pid, api: api.pid, dynalite: stack.dynalite.pid, ceiling: ceiling.pid });
  const big = bySize.get(CASE_CONVERSATION_SIZE)!.message_group_uuid;
  const rawPostGroup = randomUUID();
  const auth = (user: { token: string }) => ({ authorization: `Bearer ${user.token}` });
  const postBody = (context: Record<string, number>) => {
    context.n = (context.n ?? Math.floor(Math.random() * POST_CONVERSATIONS)) + 1;
    return JSON.stringify({ message: `bench message ${context.n}`, message_group_uuid: postGroups[context.n % POST_CONVERSATIONS] });
  };
  const loads = {
    messages: (group: string, limit = 20): HttpLoad => ({
      url: `${apiOrigin}/api/messages/${group}?limit=${limit}`,
      connections: plan.connections,
      headers: auth(alice),
    }),
    groups: (user: typeof alice, limit = 20): HttpLoad => ({
      url: `${apiOrigin}/api/message_groups?limit=${limit}`,
      connections: plan.connections,
      headers: auth(user),
    }),
    post: (): HttpLoad => ({
      url: `${apiOrigin}/api/messages`,
      connections: plan.connections,
      method: 'POST',
      headers: auth(alice),
      body: postBody,
    }),
  };

  // 1 and 2: the framework ceiling, the raw SDK and the API, at the same concurrency, interleaved.
  const c = plan.connections;
  const caseSpecs: CaseSpec[] = [
    {
      name: 'Nest ceiling  GET constant page',
      connections: c,
      driver: httpDriver({ url: `http://127.0.0.1:${ceiling.port}/api/constant`, connections: c }),
    },
    { name: 'raw SDK  Query messages page', connections: c, driver: loopDriver(c, () => raw.messagesPage(big)) },
    {
      name: `API  GET /api/messages/:uuid (${CASE_CONVERSATION_SIZE.toLocaleString('en-US')} msgs)`,
      connections: c,
      driver: httpDriver(loads.messages(big)),
    },
    { name: 'raw SDK  Query conversations page', connections: c, driver: loopDriver(c, () => raw.groupsPage(alice.uuid)) },
    { name: `API  GET /api/message_groups (${plan.groupSizes[0]} convs)`, connections: c, driver: httpDriver(loads.groups(alice)) },
    {
      name: 'raw SDK  PutItem message',
      connections: c,
      driver: loopDriver(c, () => raw.putMessage(rawPostGroup, alice, 'raw bench message')),
    },
    { name: 'API  POST /api/messages (existing conv)', connections: c, driver: httpDriver(loads.post()) },
  ];
  const t = plan.cases;
  log(
    `cases: ${c} connections / concurrent loops, ${t.rounds} interleaved rounds × ${t.durationS} s each, after ${t.warmupS} s warm-up per case`,
  );
  const cases = await measureCases(caseSpecs, t, cpu, (round) =>
    log(`  round ${round}/${t.rounds} done; API RSS ${rss.current().toFixed(0)} MB  [${elapsed()}]`),
  );
  await api.request('drain');
  for (const result of cases) {
    const share = Object.entries(result.cpu_pct ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    log(`  ${result.name}: ${result.rps} req/s, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, ${result.errors} errors; CPU % ${share}`);
  }
  const [ceilingCase, rawMessages, apiMessages, rawGroups, apiGroups, rawPost, apiPost] = cases;

  // 3: scaling, at light load (latency, not queueing), the same page size at every size.
  const sc = plan.scaling;
  log(`scaling: p50 at ${sc.connections} connections, ${sc.rounds} interleaved rounds × ${sc.durationS} s per size (API and raw SDK)`);
  const page = { messages: 20, groups: 10 };
  const scaled = await measureCases(
    [
      ...plan.messageSizes.flatMap((size) => {
        const group = bySize.get(size)!.message_group_uuid;
        return [
          {
            name: `api messages ${size}`,
            connections: sc.connections,
            driver: httpDriver({ ...loads.messages(group, page.messages), connections: sc.connections }),
          },
          {
            name: `raw messages ${size}`,
            connections: sc.connections,
            driver: loopDriver(sc.connections, () => raw.messagesPage(group, {}, page.messages)),
          },
        ];
      }),
      ...(
        [
          [plan.groupSizes[0], alice],
          [plan.groupSizes[1], carol],
        ] as const
      ).flatMap(([size, user]) => [
        {
          name: `api groups ${size}`,
          connections: sc.connections,
          driver: httpDriver({ ...loads.groups(user, page.groups), connections: sc.connections }),
        },
        {
          name: `raw groups ${size}`,
          connections: sc.connections,
          driver: loopDriver(sc.connections, () => raw.groupsPage(user.uuid, {}, page.groups)),
        },
      ]),
    ],
    sc,
  );
  const point = (kind: 'messages' | 'groups', size: number): ScalingPoint => {
    const apiPoint = scaled.find((r) => r.name === `api ${kind} ${size}`)!;
    const rawPoint = scaled.find((r) => r.name === `raw ${kind} ${size}`)!;
    return { size, p50_ms: apiPoint.p50_ms, p99_ms: apiPoint.p99_ms, rps: apiPoint.rps, raw_p50_ms: rawPoint.p50_ms };
  };
  const messagesScaling = plan.messageSizes.map((size) => point('messages', size));
  const groupsScaling = plan.groupSizes.map((size) => point('groups', size));
  const p50Ratio = (points: ScalingPoint[], key: 'p50_ms' | 'raw_p50_ms') => ratio(points.at(-1)![key]!, points[0][key]!);
  const scaling = {
    messages_p50_ratio: p50Ratio(messagesScaling, 'p50_ms'),
    groups_p50_ratio: p50Ratio(groupsScaling, 'p50_ms'),
    raw_messages_p50_ratio: p50Ratio(messagesScaling, 'raw_p50_ms'),
    raw_groups_p50_ratio: p50Ratio(groupsScaling, 'raw_p50_ms'),
    connections: sc.connections,
    page_size: page,
    messages: messagesScaling,
    groups: groupsScaling,
    ...(plan.mode === 'quick'
      ? {
          note: `--quick: conversations of ${plan.messageSizes.map((n) => n.toLocaleString('en-US')).join(' / ')} messages instead of 100 / 10,000 / 100,000`,
        }
      : {}),
  };
  log(
    `  messages p50 ratio ${scaling.messages_p50_ratio} (raw ${scaling.raw_messages_p50_ratio}), conversations p50 ratio ${scaling.groups_p50_ratio} (raw ${scaling.raw_groups_p50_ratio})  [${elapsed()}]`,
  );

  // 5: projector lag, 6: capacity.
  const client = new ApiClient(apiOrigin);
  await api.request('drain');
  log(`projector lag: ${plan.lagMessages.toLocaleString('en-US')} messages, one at a time`);
  const lag = await measureProjectorLag(client, alice.token, lagGroup, raw, plan.lagMessages);
  log(`  p50 ${lag.p50} ms, p99 ${lag.p99} ms  [${elapsed()}]`);
  const capacity = await measureCapacity({
    api,
    client,
    raw,
    samples: plan.capacitySamples,
    reader: alice,
    messagesGroup: big,
    groupsOwner: carol,
    postGroup: postGroups[0],
  });
  log(
    `capacity: ${capacity.rcu_per_messages_page} RCU/messages page, ${capacity.rcu_per_groups_page} RCU/conversations page, ${capacity.wcu_per_message} WCU/message  [${elapsed()}]`,
  );

  // 4: memory (and the soak).
  let soakReport = null;
  if (plan.soak) {
    log(`soak: ${plan.soakS} s at ${plan.connections} connections, the three routes in turn`);
    const mix: autocannon.Request[] = [
      { method: 'GET', path: `/api/messages/${big}` },
      { method: 'GET', path: '/api/message_groups' },
      {
        method: 'POST',
        path: '/api/messages',
        setupRequest: (request, context) => ({ ...request, body: postBody(context as Record<string, number>) }),
      },
    ];
    soakReport = await soak(
      api,
      apiOrigin,
      mix.map((r) => ({ ...r, headers: { 'content-type': 'application/json', ...auth(alice) } })),
      plan.connections,
      plan.soakS,
      log,
    );
    log(`  RSS ${soakReport.rss_baseline_mb} -> ${soakReport.rss_end_mb} MB (${soakReport.growth_pct}%)  [${elapsed()}]`);
  }
  const peak = Math.round(rss.stop() * 10) / 10;
  const liveHeap = Math.round((await api.request<NodeJS.MemoryUsage>('memory', { gc: true })).heapUsed / 2 ** 20);

  const apiCases = { messages: apiMessages, groups: apiGroups, post: apiPost };
  const partial: Omit<BenchResult, 'targets' | 'all_targets_met'> = {
    generated_at: new Date().toISOString(),
    mode: plan.mode,
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      memory_gb: Math.round(totalmem() / 2 ** 30),
    },
    setup: {
      connections: plan.connections,
      case_rounds: plan.cases.rounds,
      case_round_s: plan.cases.durationS,
      case_warmup_s: plan.cases.warmupS,
      processes:
        'bench (autocannon and the raw-SDK loops), API, framework-ceiling app and dynalite each in their own process, all on this machine',
      dynalite: 'dynalite 4.0.0 in memory, own process',
      api: 'dist build, NODE_ENV=production, Nest logger warn+error, change-capture emulator on (the projector runs in the API process)',
      postgres: "the machine's Postgres, a fresh database",
      raw_sdk:
        'DynamoDBClient from the bench process, the same requests as the repository (Query Limit 20 newest first; conditional PutItem)',
      ceiling: 'Nest 12 + platform-fastify, one @Get returning a constant page of 20 messages',
      seeded_items: seeder.written,
    },
    cases,
    ratios: {
      messages_vs_raw: ratio(apiMessages.rps, rawMessages.rps),
      groups_vs_raw: ratio(apiGroups.rps, rawGroups.rps),
      post_vs_raw: ratio(apiPost.rps, rawPost.rps),
      messages_vs_ceiling: ratio(apiMessages.rps, ceilingCase.rps),
      groups_vs_ceiling: ratio(apiGroups.rps, ceilingCase.rps),
      post_vs_ceiling: ratio(apiPost.rps, ceilingCase.rps),
      raw_messages_vs_ceiling: ratio(rawMessages.rps, ceilingCase.rps),
    },
    scaling,
    projector_lag_ms: lag,
    rss_mb: {
      peak,
      soak_growth_pct: soakReport?.growth_pct ?? null,
      heap_after_gc_at_end: liveHeap,
      api_node_flags: apiFlags,
      soak: soakReport,
    },
    capacity,
    notes: [],
  };
  partial.notes = explain(partial, liveHeap, plan);
  const targets = evaluateTargets(partial, apiCases);
  const result: BenchResult = { ...partial, targets, all_targets_met: targets.every((t) => t.met !== false) };

  await cleanUp((line) => log(line));
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
  log('');
  log(formatReport(result));
  log('');
  log(`wrote ${relative(process.cwd(), RESULTS)}  (${elapsed()} in all)`);
  if (plan.profileDir) log(`the API's CPU profile: ${plan.profileDir} (open it in Chrome DevTools or speedscope)`);
}

/** Plain-language notes on what bounds the figures, from what was measured in this run. */
function explain(r: Omit<BenchResult, 'targets' | 'all_targets_met'>, liveHeapMb: number, plan: Plan): string[] {
  const notes: string[] = [];
  const apiCases = r.cases.filter((c) => c.name.startsWith('API'));
  const rawCases = r.cases.filter((c) => c.name.startsWith('raw'));
  const mean = (cases: typeof r.cases, key: string) =>
    Math.round(cases.reduce((sum, c) => sum + (c.cpu_pct?.[key] ?? 0), 0) / Math.max(1, cases.length));
  notes.push(
    `${r.machine.cpus} cores shared by the load generator, the API, dynalite (and Postgres, cognito-local): in the API cases the API process used ${mean(apiCases, 'api')}% of a core, ` +
      `dynalite ${mean(apiCases, 'dynalite')}%, the load generator ${mean(apiCases, 'bench')}% (idle ${mean(apiCases, 'idle')}%); a Node process runs JavaScript on one core, so at ~100% the API itself is the bottleneck.`,
  );
  const other = Math.max(...r.cases.map((c) => c.cpu_pct?.other ?? 0));
  if (other >= 15)
    notes.push(`other processes used up to ${other}% of a core during the cases: the figures are distorted; rerun on a quiet machine.`);
  // CPU milliseconds one request costs a process: its share of a core / requests per second.
  const cpuMs = (prefix: string, proc: string) => {
    const c = r.cases.find((x) => x.name.startsWith(prefix));
    return c?.cpu_pct?.[proc] !== undefined ? Math.round((c.cpu_pct[proc] / 100 / c.rps) * 1000 * 100) / 100 : Number.NaN;
  };
  notes.push(
    `CPU per request: the API spends ${cpuMs('API  GET /api/messages', 'api')} ms per messages page and ${cpuMs('API  GET /api/message_groups', 'api')} ms per conversations page; ` +
      `the raw client ${cpuMs('raw SDK  Query messages', 'bench')} / ${cpuMs('raw SDK  Query conversations', 'bench')} ms per Query; the Nest ceiling ${cpuMs('Nest ceiling', 'ceiling')} ms per request; ` +
      `dynalite ${cpuMs('raw SDK  Query messages', 'dynalite')} ms per messages Query.`,
  );
  if (mean(rawCases, 'bench') >= 85) {
    notes.push(
      `the raw-SDK cases are bound by the SDK client's CPU in the bench process (${mean(rawCases, 'bench')}% of a core), not by dynalite (${mean(rawCases, 'dynalite')}%): ` +
        "raw = what one Node process does with the bare SDK (the app's own client, with its middleware cache). The API makes the same SDK call plus HTTP, Nest, auth and JSON in one process, so its ratio to raw is its CPU per request against the raw client's.",
    );
  }
  const sent = r.capacity.per_call.post_message.requests;
  notes.push(
    `the POST case includes the projection, which runs in the API process (the change-capture emulator): a message sent on its own costs ${sent.Query ?? 0} Query, ` +
      `${sent.PutItem ?? 0} PutItem (the message and both group items), ${sent.UpdateItem ?? 0} UpdateItem (the members' read state) and ${sent.DeleteItem ?? 0} DeleteItem; under load the emulator projects a batch's messages of one conversation once. The raw case is the message's PutItem alone.`,
  );
  if (r.rss_mb.peak >= 256) {
    notes.push(
      `the API's live heap after a full GC is ${liveHeapMb} MB; the peak RSS comes from V8 growing the heap lazily under this allocation rate on a ${r.machine.memory_gb} GB machine ` +
        `with the flags above. The heap limit is set in package.json's start script (and the Dockerfile's CMD); try others with --api-node-flags.`,
    );
  }
  if (plan.mode === 'quick') notes.push('--quick: shorter runs and smaller conversations; use the full run for figures to compare.');
  return notes;
}

main().catch(async (error: unknown) => {
  const known = error instanceof BenchError || error instanceof UsageError;
  console.error(`bench: ${known ? error.message : firstLine(error)}`);
  await cleanUp((line) => console.error(line));
  process.exit(1);
});
