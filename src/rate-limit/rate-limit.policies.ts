import type { RateLimits } from '../config/config.js';

/** What is limited, per whom, and how the refusal reads. */
export interface RateLimitPolicy {
  name: 'messages' | 'new_conversations' | 'public';
  /** Requests allowed per window (0: unlimited). */
  points(limits: RateLimits): number;
  windowSeconds: number;
  message: string;
}

export const RATE_LIMIT_POLICIES = {
  /** POST /api/messages, per user. */
  messages: {
    name: 'messages',
    points: (limits) => limits.messagesPerMinute,
    windowSeconds: 60,
    message: 'Too many messages; slow down',
  },
  /** First messages to someone (a new conversation), per user. */
  newConversations: {
    name: 'new_conversations',
    points: (limits) => limits.newConversationsPerHour,
    windowSeconds: 3600,
    message: 'Too many new conversations; try again later',
  },
  /** Routes without a token, per client address. */
  public: {
    name: 'public',
    points: (limits) => limits.publicPerMinute,
    windowSeconds: 60,
    message: 'Too many requests; slow down',
  },
} as const satisfies Record<string, RateLimitPolicy>;
