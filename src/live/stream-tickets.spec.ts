import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { InMemoryStreamTicketStore, isTicketShaped, RedisStreamTicketStore, TICKET_TTL_SECONDS } from './stream-tickets.js';

const caller = () => ({ user_uuid: randomUUID(), expiresAt: Date.now() + 3_600_000 });

describe('tickets in memory', () => {
  it('are redeemed once, and not after they expire', async () => {
    let now = 1_000_000;
    const store = new InMemoryStreamTicketStore(() => now);
    const alice = caller();
    const [once, late] = [await store.issue(alice), await store.issue(alice)];

    expect(isTicketShaped(once)).toBe(true);
    await expect(store.redeem(once)).resolves.toEqual(alice);
    await expect(store.redeem(once)).resolves.toBeUndefined();
    now += TICKET_TTL_SECONDS * 1000;
    await expect(store.redeem(late)).resolves.toBeUndefined();
  });
});

describe('tickets in Redis (the machine’s, 127.0.0.1:6379)', () => {
  it('are redeemed once by any holder of the store, with a TTL of at most 60 s', async () => {
    const [issuer, redeemer] = [new RedisStreamTicketStore('redis://127.0.0.1:6379'), new RedisStreamTicketStore('redis://127.0.0.1:6379')];
    try {
      const alice = caller();
      const ticket = await issuer.issue(alice);

      await expect(redeemer.redeem(ticket)).resolves.toEqual(alice);
      await expect(issuer.redeem(ticket)).resolves.toBeUndefined();
      expect(TICKET_TTL_SECONDS).toBeLessThanOrEqual(60);
    } finally {
      issuer.close();
      redeemer.close();
    }
  });

  it('are issued again once a command timed out on a connection gone silent (a network black hole)', async () => {
    const { proxy, url } = await TcpProxy.forUrl('redis://127.0.0.1:6379', 6379);
    const store = new RedisStreamTicketStore(url);
    try {
      await store.issue(caller());
      proxy.blackhole();
      proxy.heal();
      await expect(store.issue(caller())).rejects.toThrow(/timed out/);

      const alice = caller();
      await expect(store.redeem(await store.issue(alice))).resolves.toEqual(alice);
    } finally {
      store.close();
      await proxy.stop();
    }
  });
});
