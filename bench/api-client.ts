import { BenchError } from './processes.js';

/** The few API calls the bench makes one at a time (lag and capacity), with Node's fetch (keep-alive). */
export class ApiClient {
  constructor(readonly origin: string) {}

  async get(path: string, token: string): Promise<unknown> {
    const response = await fetch(`${this.origin}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return this.body(response, `GET ${path}`);
  }

  /** POSTs a message; resolves when the response's headers arrived, with that moment and the body. */
  async postMessage(
    token: string,
    body: { message: string; message_group_uuid: string } | { message: string; handle: string },
  ): Promise<{ respondedAt: number; created: { uuid: string; message_group_uuid: string; created_at: string } }> {
    const response = await fetch(`${this.origin}/api/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const respondedAt = performance.now();
    const created = (await this.body(response, 'POST /api/messages')) as { uuid: string; message_group_uuid: string; created_at: string };
    return { respondedAt, created };
  }

  private async body(response: Response, what: string): Promise<unknown> {
    const text = await response.text();
    if (response.status !== 200) throw new BenchError(`${what} answered ${response.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text);
  }
}
