import { parseEventBlock } from '../../tools/live/event-stream.js';
import { request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';

export interface SseEvent {
  /** `message` when the event names no type; `comment` for a comment line. */
  type: string;
  id?: string;
  retry?: number;
  data?: string;
  comment?: string;
}

/**
 * A Server-Sent Events client over plain HTTP for the tests: it parses the stream as EventSource
 * does, keeps every event (comments too), and lets a test wait on a condition, never on time.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  /** The last id the stream set (what an EventSource would send as Last-Event-ID). */
  lastEventId?: string;
  ended = false;
  private buffer = '';
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly req: ClientRequest,
    readonly response: IncomingMessage,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.take(chunk));
    const end = () => {
      this.ended = true;
      this.notify();
    };
    response.on('end', end);
    response.on('close', end);
    response.on('error', end);
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** Opens `url`; resolves once the response headers are in (whatever the status). */
  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { headers: { Accept: 'text/event-stream', ...headers } });
      req.on('response', (response) => resolve(new SseClient(req, response)));
      req.on('error', reject);
      req.end();
    });
  }

  /** The body of a refusal (a JSON error), read to its end. */
  async json(): Promise<Record<string, unknown>> {
    await this.until(() => this.ended, 'the response to end');
    return JSON.parse(this.buffer) as Record<string, unknown>;
  }

  /** Events of a type, data parsed as JSON. */
  data<T = Record<string, unknown>>(type: string): T[] {
    return this.events.filter((e) => e.type === type).map((e) => JSON.parse(e.data ?? 'null') as T);
  }

  /** Resolves when `condition` holds (checked after every chunk); rejects after `timeoutMs` naming what it waited for. */
  until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; events so far: ${JSON.stringify(this.events.slice(-5))}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  pause(): void {
    this.response.pause();
  }

  resume(): void {
    this.response.resume();
  }

  close(): void {
    this.req.destroy();
    this.response.destroy();
  }

  private take(chunk: string): void {
    if (this.status !== 200) {
      this.buffer += chunk;
      return;
    }
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      this.parse(block);
    }
    this.notify();
  }

  private parse(block: string): void {
    const { type, id, retry, data, comments, hasFields } = parseEventBlock(block);
    for (const comment of comments) this.events.push({ type: 'comment', comment });
    if (id !== undefined) this.lastEventId = id;
    if (!hasFields) return;
    // EventSource dispatches no event without data; its id and retry still count ("control" here).
    const event: SseEvent = { type: data === undefined ? 'control' : type };
    if (id !== undefined) event.id = id;
    if (retry !== undefined) event.retry = retry;
    if (data !== undefined) event.data = data;
    this.events.push(event);
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
