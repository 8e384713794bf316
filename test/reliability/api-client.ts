import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export interface ApiRequest {
  method?: string;
  /** Sent as it is (already encoded): the tests choose odd paths on purpose. */
  path: string;
  headers?: Record<string, string | string[]>;
  /** An object is sent as JSON; a string or Buffer as raw bytes (its Content-Type set by the caller). */
  body?: object | string | Buffer;
}

export interface ApiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: unknown;
}

/**
 * The reliability suite's HTTP client: one keep-alive agent to the service's real port. It can send
 * what supertest cannot (raw bodies with any Content-Type, odd paths and headers), and it counts
 * the responses by status.
 */
export class ApiClient {
  /** Responses received so far, by status code. */
  readonly statuses = new Map<number, number>();
  private readonly agent: Agent;

  private constructor(
    private readonly host: string,
    private readonly port: number,
    maxSockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  static connect(host: string, port: number, options: { maxSockets?: number } = {}): ApiClient {
    return new ApiClient(host, port, options.maxSockets ?? 256);
  }

  get requests(): number {
    return [...this.statuses.values()].reduce((a, b) => a + b, 0);
  }

  /** How many responses had a status in [from, to]. */
  countStatus(from: number, to = from): number {
    return [...this.statuses].filter(([s]) => s >= from && s <= to).reduce((a, [, n]) => a + n, 0);
  }

  send(req: ApiRequest): Promise<ApiResponse> {
    const raw = typeof req.body === 'string' || Buffer.isBuffer(req.body);
    const payload = req.body === undefined ? undefined : raw ? (req.body as string | Buffer) : JSON.stringify(req.body);
    const headers = { ...(req.body !== undefined && !raw ? { 'content-type': 'application/json' } : {}), ...req.headers };
    return new Promise<ApiResponse>((resolve, reject) => {
      const outgoing = request(
        { host: this.host, port: this.port, method: req.method ?? 'GET', path: req.path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              body = undefined;
            }
            resolve({ status, headers: res.headers, text, body });
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  }

  get(path: string, token?: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.send({ path, headers: { ...bearer(token), ...headers } });
  }

  post(
    path: string,
    token: string | undefined,
    body: object | string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> {
    return this.send({ method: 'POST', path, headers: { ...bearer(token), ...headers }, body });
  }

  close(): void {
    this.agent.destroy();
  }
}

const bearer = (token?: string): Record<string, string> => (token === undefined ? {} : { authorization: `Bearer ${token}` });

/** The error body every failed call has (`{statusCode, error, message}` and maybe `errors`), and nothing that looks like a stack trace. */
export function isCleanErrorBody(res: ApiResponse): boolean {
  const body = res.body as { statusCode?: unknown; error?: unknown; message?: unknown } | undefined;
  return (
    typeof body === 'object' &&
    body !== null &&
    body.statusCode === res.status &&
    typeof body.error === 'string' &&
    typeof body.message === 'string' &&
    /^application\/json/.test(String(res.headers['content-type'])) &&
    !res.text.includes('    at ') &&
    !/\bat .+\(.+:\d+:\d+\)/.test(res.text)
  );
}
