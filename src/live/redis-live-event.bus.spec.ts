import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import type { LiveEvent } from './live-event.js';
import { RedisLiveEventBus } from './redis-live-event.bus.js';

const URL = 'redis://127.0.0.1:6379';

const readEvent = (): LiveEvent => ({
  type: 'read',
  audience: [randomUUID()],
  key: randomUUID(),
  data: { message_group_uuid: randomUUID(), other_last_read_at: '2026-12-01T12:00:00.000000+00:00' },
});

describe('the Redis bus (the machine’s Redis)', () => {
  it("carries one task's events to another's subscribers", async () => {
    const [publisher, subscriber] = [new RedisLiveEventBus(URL), new RedisLiveEventBus(URL)];
    try {
      const event = readEvent();
      const received = new Promise<LiveEvent>((resolve) =>
        subscriber.subscribe((e) => {
          if (e.key === event.key) resolve(e);
        }),
      );
      await subscriber.whenLive();

      await publisher.publish([event]);

      await expect(received).resolves.toEqual(event);
    } finally {
      await publisher.close();
      await subscriber.close();
    }
  });

  it('tells its listeners when its subscription was lost and is back (events may have been missed)', async () => {
    const name = `live-test-${randomUUID()}`;
    const bus = new RedisLiveEventBus(URL, { subscriberName: name });
    const admin = new Redis(URL);
    try {
      bus.subscribe(() => undefined);
      await bus.whenLive();
      const gap = new Promise<void>((resolve) => bus.onGap(resolve));

      // Redis drops this bus's subscribing connection (found by its name), as a failover would.
      const clients = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      const id = clients
        .split('\n')
        .find((line) => line.includes(` name=${name} `))
        ?.match(/^id=(\d+)/)?.[1];
      expect(id).toBeDefined();
      await admin.call('CLIENT', 'KILL', 'ID', id!);
      await gap;

      expect(bus.live).toBe(true);
    } finally {
      admin.disconnect();
      await bus.close();
    }
  });

  it('notices a subscription gone silent (a network black hole) by its PING, reconnects and tells its listeners', async () => {
    const { proxy, url } = await TcpProxy.forUrl(URL, 6379);
    const bus = new RedisLiveEventBus(url, { livenessMs: 100 });
    try {
      bus.subscribe(() => undefined);
      await bus.whenLive();
      const gap = new Promise<void>((resolve) => bus.onGap(resolve));

      // The open connection stays silent for good; a new one gets through.
      proxy.blackhole();
      proxy.heal();
      await gap;

      expect(bus.live).toBe(true);
    } finally {
      await bus.close();
      await proxy.stop();
    }
  });

  it('opens a new publishing connection after a command timed out on a silent one, and never sends the failed one late', async () => {
    const { proxy, url } = await TcpProxy.forUrl(URL, 6379);
    const publisher = new RedisLiveEventBus(url);
    const subscriber = new RedisLiveEventBus(URL);
    const seen: string[] = [];
    const event = readEvent();
    const received = new Promise<LiveEvent>((resolve) =>
      subscriber.subscribe((e) => {
        seen.push(e.key);
        if (e.key === event.key) resolve(e);
      }),
    );
    try {
      await subscriber.whenLive();
      await publisher.publish([readEvent()]);
      proxy.blackhole();
      proxy.heal();
      const failed = readEvent();
      await expect(publisher.publish([failed])).rejects.toThrow(/timed out/);

      await publisher.publish([event]);

      await expect(received).resolves.toEqual(event);
      // Its caller was told it failed: sent again on the new connection (ahead of `event`), it would
      // arrive late and out of order.
      expect(seen).not.toContain(failed.key);
    } finally {
      await publisher.close();
      await subscriber.close();
      await proxy.stop();
    }
  });
});
