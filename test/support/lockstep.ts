import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resetMiddlewareCache } from '../../src/dynamodb/dynamodb.client.js';
import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Runs concurrent workers ("lanes") over a DynamoDB client in lockstep, so that races happen every
 * time rather than now and then: a command sent by a lane waits until every other running lane
 * has a command waiting too, and then they are all sent at once. So no lane's next command is sent
 * before every other lane has seen the answers to its previous ones: two lanes that read the same
 * item both read it before either writes. No timers: a round starts when the last lane arrives or
 * a lane finishes. Commands sent outside `run` pass untouched.
 *
 * It knows nothing about the code in the lanes (which commands, how many, in parallel or not);
 * a lane must only not wait for another lane by other means than DynamoDB.
 */
export class Lockstep {
  private readonly lane = new AsyncLocalStorage<number>();
  private readonly running = new Set<number>();
  private waiting: { lane: number; go: () => void }[] = [];
  private nextLane = 0;
  /** How many rounds were released (a round holds every lane's waiting commands). */
  rounds = 0;

  attach(client: DynamoDBClient): this {
    client.middlewareStack.add(
      (next) => async (args) => {
        await this.turn();
        return next(args);
      },
      { step: 'initialize', priority: 'low', name: 'lockstep' },
    );
    resetMiddlewareCache(client);
    return this;
  }

  /** Runs `lanes` workers at once, in lockstep; resolves with their results in order. */
  async run<T>(lanes: number, work: (lane: number) => Promise<T>): Promise<T[]> {
    const ids = Array.from({ length: lanes }, () => this.nextLane++);
    for (const id of ids) this.running.add(id);
    return Promise.all(
      ids.map((id, i) =>
        this.lane
          .run(id, async () => work(i))
          .finally(() => {
            this.running.delete(id);
            this.releaseWhenAllWait();
          }),
      ),
    );
  }

  private turn(): Promise<void> {
    const lane = this.lane.getStore();
    if (lane === undefined || !this.running.has(lane)) return Promise.resolve();
    return new Promise<void>((go) => {
      this.waiting.push({ lane, go });
      this.releaseWhenAllWait();
    });
  }

  private releaseWhenAllWait(): void {
    if (this.waiting.length === 0) return;
    const waitingLanes = new Set(this.waiting.map((w) => w.lane));
    if ([...this.running].some((lane) => !waitingLanes.has(lane))) return;
    const round = this.waiting;
    this.waiting = [];
    this.rounds++;
    for (const { go } of round) go();
  }
}
