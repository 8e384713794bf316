/**
 * Rate limits far above what any test sends, for stacks that test something else (the load and
 * bad-input suites post thousands of requests as a handful of users from one address). The rate-limit
 * tests set real limits.
 */
export const UNLIMITED_FOR_TESTS = {
  RATE_LIMIT_MESSAGES_PER_MINUTE: '1000000',
  RATE_LIMIT_NEW_CONVERSATIONS_PER_HOUR: '1000000',
  RATE_LIMIT_PUBLIC_PER_MINUTE: '1000000',
};
