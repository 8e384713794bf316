import { DEFAULT_RATE_LIMITS, type RateLimits } from '../../src/config/config.js';
import { formatTimestamp } from '../../src/dynamodb/timestamp.js';

/*
 * The simulated workload: who writes to whom and when, reproducible from a seed. Activity is
 * Zipf-skewed over users (rank 1 is the busiest and the most written to), the rate follows a
 * diurnal curve, and a burst sends one popular user many first messages in a minute.
 */

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Zipf over ranks 1…n with exponent s (P(k) ∝ k^-s), sampled without a table by rejection-inversion
 * (Hörmann and Derflinger 1996, as in Apache Commons RNG), so n can be tens of millions.
 */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const h = (x: number) => Math.exp(-s * Math.log(x));
  const helper1 = (x: number) => (Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x)));
  const helper2 = (x: number) => (Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + (x / 3) * (1 + 0.25 * x)));
  const hIntegral = (x: number) => {
    const logX = Math.log(x);
    return helper2((1 - s) * logX) * logX;
  };
  const hIntegralInverse = (x: number) => {
    let t = x * (1 - s);
    if (t < -1) t = -1;
    return Math.exp(helper1(t) * x);
  };
  const hIntegralX1 = hIntegral(1.5) - 1;
  const hIntegralN = hIntegral(n + 0.5);
  const sCoef = 2 - hIntegralInverse(hIntegral(2.5) - h(2));
  return () => {
    for (;;) {
      const u = hIntegralN + random() * (hIntegralX1 - hIntegralN);
      const x = hIntegralInverse(u);
      const k = Math.min(n, Math.max(1, Math.floor(x + 0.5)));
      if (k - x <= sCoef || u >= hIntegral(k + 0.5) - h(k)) return k;
    }
  };
}

export interface WorkloadOptions {
  users: number;
  messagesPerDay: number;
  /** Length of the simulated window, in seconds, centred on the day's peak. */
  durationS: number;
  /** The diurnal peak rate over the mean rate. */
  peakFactor: number;
  /** Exponent of the Zipf distribution of activity over users. */
  zipf: number;
  /** Conversations of the busiest user; user k has about this × k^-zipf, at least `minConversations`. */
  topConversations: number;
  minConversations: number;
  /** Share of messages that start a new conversation (pattern C). */
  newConversationShare: number;
  /** First messages the most popular user receives in the burst's minute (0: no burst). */
  burst: number;
  /** Mean message length in characters (exponential, capped at 1,000). */
  meanMessageChars: number;
  /** The API's per-user rate limits: messages a user sends over them are refused (429), not written. */
  rateLimits: Pick<RateLimits, 'messagesPerMinute' | 'newConversationsPerHour'>;
  seed: number;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = {
  users: 10_000_000,
  messagesPerDay: 1_000_000_000,
  durationS: 20,
  peakFactor: 2,
  zipf: 0.8,
  topConversations: 5_000,
  minConversations: 3,
  newConversationShare: 0.02,
  burst: 500,
  meanMessageChars: 80,
  rateLimits: DEFAULT_RATE_LIMITS,
  seed: 15,
};

export interface Participant {
  uuid: string;
  display_name: string;
  handle: string;
}

export interface WorkloadMessage {
  /** Seconds since the window's start. */
  at: number;
  message_group_uuid: string;
  created_at: string;
  message_uuid: string;
  message: string;
  sender: Participant;
  recipient: Participant;
  /** The first message of a conversation (the API writes both member items first). */
  first: boolean;
}

/** The day's mean and peak rates, in messages per second. */
export function rates(options: Pick<WorkloadOptions, 'messagesPerDay' | 'peakFactor'>): { mean: number; peak: number } {
  const mean = options.messagesPerDay / 86_400;
  return { mean, peak: mean * options.peakFactor };
}

/** The rate at `t` seconds from the peak: a cosine over the day, from (2 − peak) × mean to peak × mean. */
export function diurnalRate(options: Pick<WorkloadOptions, 'messagesPerDay' | 'peakFactor'>, t: number): number {
  const { mean } = rates(options);
  return mean * (1 + (options.peakFactor - 1) * Math.cos((2 * Math.PI * t) / 86_400));
}

/** 2026-12-01T18:00:00Z: the window's middle, the day's peak (an evening in the Americas). */
export const WINDOW_PEAK_MICROS = Date.UTC(2026, 11, 1, 18) * 1000;

export function participant(rank: number): Participant {
  return { uuid: `00000000-0000-4000-8000-${rank.toString(16).padStart(12, '0')}`, display_name: `User ${rank}`, handle: `user${rank}` };
}

function conversationId(kind: number, a: number, b: number): string {
  return `${kind.toString(16).padStart(8, '0')}-${(a >>> 16).toString(16).padStart(4, '0')}-4${(a & 0xfff).toString(16).padStart(3, '0')}-8${((a >>> 12) & 0xf).toString(16)}00-${b.toString(16).padStart(12, '0')}`;
}

const TEXT = 'x'.repeat(1000);

/**
 * The window's messages in time order. Each message: a user picked by activity (Zipf) either starts
 * a conversation with a user picked by popularity (the same Zipf: the busiest users are also the
 * most written to), or writes in one of their conversations (recent ones more often: Zipf over
 * their conversation count), where either member is the sender. The burst sends `burst` first
 * messages to user 1 over a minute from the window's middle. The generator returns how many
 * messages the API's rate limits refused.
 */
export function* generateWorkload(options: WorkloadOptions): Generator<WorkloadMessage, number> {
  const random = seededRandom(options.seed);
  const pickUser = zipfSampler(options.users, options.zipf, random);
  const conversationPickers = new Map<number, () => number>();
  const lastMicros = new Map<string, number>();
  const start = WINDOW_PEAK_MICROS - (options.durationS / 2) * 1e6;
  let sequence = 0;
  let newConversations = 0;
  let refused = 0;

  // The burst's rate is `burst` a minute from the window's middle; a shorter window holds its first part.
  const burstStart = options.durationS / 2;
  const burstLength = Math.min(60, options.durationS - burstStart);
  const burstTimes = Array.from({ length: Math.round((options.burst * burstLength) / 60) }, () => burstStart + random() * burstLength).sort(
    (a, b) => a - b,
  );
  let burstIndex = 0;

  const message = (at: number, group: string, sender: number, recipient: number, first = false): WorkloadMessage => {
    let micros = Math.floor(start + at * 1e6);
    const last = lastMicros.get(group);
    if (last !== undefined && micros <= last) micros = last + 1; // the microsecond bump
    lastMicros.set(group, micros);
    sequence++;
    const chars = Math.min(1000, 1 + Math.floor(-Math.log(1 - random()) * options.meanMessageChars));
    return {
      at,
      message_group_uuid: group,
      created_at: formatTimestamp(micros),
      message_uuid: `${sequence.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`,
      message: TEXT.slice(0, chars),
      sender: participant(sender),
      recipient: participant(recipient),
      first,
    };
  };

  // The API's per-user limits (src/config/config.ts): what a user sends over them is refused, never written.
  const sentThisMinute = new Map<number, number>();
  const startedThisHour = new Map<number, number>();
  let minute = 0;
  const allowed = (sender: number, first: boolean): boolean => {
    const sent = sentThisMinute.get(sender) ?? 0;
    const started = startedThisHour.get(sender) ?? 0;
    if (sent >= options.rateLimits.messagesPerMinute || (first && started >= options.rateLimits.newConversationsPerHour)) {
      refused++;
      return false;
    }
    sentThisMinute.set(sender, sent + 1);
    if (first) startedThisHour.set(sender, started + 1);
    return true;
  };

  let t = 0;
  for (;;) {
    t += -Math.log(1 - random()) / diurnalRate(options, t - options.durationS / 2);
    if (Math.floor(t / 60) > minute) {
      minute = Math.floor(t / 60);
      sentThisMinute.clear();
    }
    while (burstIndex < burstTimes.length && burstTimes[burstIndex] <= Math.min(t, options.durationS)) {
      const sender = 2 + Math.floor(random() * (options.users - 1));
      if (allowed(sender, true)) yield message(burstTimes[burstIndex++], conversationId(2, ++newConversations, sender), sender, 1, true);
    }
    if (t >= options.durationS) return refused;
    const active = pickUser();
    if (random() < options.newConversationShare) {
      let other = pickUser();
      if (other === active) other = (active % options.users) + 1;
      if (allowed(active, true)) yield message(t, conversationId(2, ++newConversations, active), active, other, true);
      continue;
    }
    const count = Math.max(options.minConversations, Math.round(options.topConversations * Math.pow(active, -options.zipf)));
    let pick = conversationPickers.get(count);
    if (!pick) conversationPickers.set(count, (pick = zipfSampler(count, 1, random)));
    const j = pick();
    // The other member of the active user's j-th conversation: fixed by (active, j), popular users more likely.
    const other = otherMember(active, j, options);
    const group = conversationId(1, active, j);
    const [sender, recipient] = random() < 0.5 ? [active, other] : [other, active];
    if (allowed(sender, false)) yield message(t, group, sender, recipient);
  }
}

/** The other member of conversation (user, j): a Zipf draw seeded by the pair, so always the same one. */
function otherMember(active: number, j: number, options: WorkloadOptions): number {
  const random = seededRandom((active * 2654435761) ^ (j * 40503) ^ options.seed);
  let other = zipfSampler(options.users, options.zipf, random)();
  if (other === active) other = (active % options.users) + 1;
  return other;
}
