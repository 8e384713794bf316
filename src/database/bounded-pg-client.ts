import pg from 'pg';

/**
 * The pool's Postgres client. When a query times out (`query_timeout`), pg rejects it but keeps the
 * connection, whose next query would wait behind the unanswered one: after a network black hole
 * the pool would stay full of dead connections long after the network heals. This client closes
 * its connection instead, so the pool drops it and opens a fresh one on demand.
 */
export class BoundedPgClient extends pg.Client {
  override query(...args: unknown[]): never {
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) result.catch((error: unknown) => this.closeIfTimedOut(error));
    return result as never;
  }

  private closeIfTimedOut(error: unknown): void {
    if (!(error instanceof Error) || error.message !== 'Query read timeout') return;
    this.end().catch(() => undefined); // marks the client as ending, so the pool never hands it out again
    (this as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }
}
