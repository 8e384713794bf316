import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { COMMAND_CONNECTION, reconnectingAfterTimeout } from '../common/redis.js';

/** Who a ticket lets in, and until when their access token is valid (ms since the epoch). */
export interface StreamCaller {
  user_uuid: string;
  expiresAt: number;
}

/** How long a ticket can be redeemed (seconds): long enough to open an EventSource, no longer. */
export const TICKET_TTL_SECONDS = 30;
/** 32 random bytes, base64url. */
const TICKET = /^[A-Za-z0-9_-]{43}$/;

export function isTicketShaped(ticket: string): boolean {
  return TICKET.test(ticket);
}

/**
 * Single-use tickets for GET /api/events?ticket=… (browsers' EventSource cannot send headers, and an
 * access token must never sit in a URL). Redeeming a ticket removes it.
 */
export abstract class StreamTicketStore {
  abstract issue(caller: StreamCaller): Promise<string>;
  /** The caller of an unexpired, unused ticket; undefined otherwise (also for a second redemption). */
  abstract redeem(ticket: string): Promise<StreamCaller | undefined>;
  abstract close(): void;
}

function newTicket(): string {
  return randomBytes(32).toString('base64url');
}

/** Tickets in this task's memory: without REDIS_URL there is one task to redeem them. */
export class InMemoryStreamTicketStore extends StreamTicketStore {
  private readonly tickets = new Map<string, { caller: StreamCaller; until: number }>();

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  issue(caller: StreamCaller): Promise<string> {
    const now = this.now();
    // Expired tickets go whenever one is issued: the map holds at most a window's worth.
    for (const [ticket, { until }] of this.tickets) if (until <= now) this.tickets.delete(ticket);
    const ticket = newTicket();
    this.tickets.set(ticket, { caller, until: now + TICKET_TTL_SECONDS * 1000 });
    return Promise.resolve(ticket);
  }

  redeem(ticket: string): Promise<StreamCaller | undefined> {
    const entry = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    return Promise.resolve(entry && entry.until > this.now() ? entry.caller : undefined);
  }

  close(): void {
    this.tickets.clear();
  }
}

/** Tickets in Redis (with a TTL), so that any task behind the load balancer can redeem one, once (GETDEL). */
export class RedisStreamTicketStore extends StreamTicketStore {
  private readonly redis: Redis;

  constructor(url: string, warn: (message: string) => void = () => undefined) {
    super();
    this.redis = new Redis(url, { ...COMMAND_CONNECTION, lazyConnect: true });
    this.redis.on('error', (error: Error) => warn(`Redis (stream tickets): ${error.message}`));
  }

  async issue(caller: StreamCaller): Promise<string> {
    const ticket = newTicket();
    await reconnectingAfterTimeout(this.redis, () => this.redis.set(key(ticket), JSON.stringify(caller), 'EX', TICKET_TTL_SECONDS));
    return ticket;
  }

  async redeem(ticket: string): Promise<StreamCaller | undefined> {
    const value = await reconnectingAfterTimeout(this.redis, () => this.redis.getdel(key(ticket)));
    return value === null ? undefined : (JSON.parse(value) as StreamCaller);
  }

  close(): void {
    this.redis.disconnect();
  }
}

const key = (ticket: string) => `cruddur-messaging:ticket:${ticket}`;
