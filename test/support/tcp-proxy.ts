import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy the test controls, to make a dependency unreachable without touching the real
 * server (the machine's shared Postgres must never be stopped): `cut()` closes the listener and
 * every open connection (new ones are refused), `restore()` listens again on the same port.
 * `blackhole()` plays a network that silently drops every packet: connections stay open, and
 * new ones are accepted, but nothing gets through either way; `heal()` lets new connections through
 * again, while the black-holed ones stay silent for good (their state was lost on the way).
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private dropping = false;
  /** Client sockets accepted while black-holed, or black-holed since: never forwarded again. */
  private readonly silenced = new WeakSet<Socket>();
  port = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await proxy.listen(0);
    return proxy;
  }

  /** A proxy in front of the Postgres server of `url`, and `url` pointed at the proxy. */
  static async forUrl(url: string, defaultPort = 5432): Promise<{ proxy: TcpProxy; url: string }> {
    const target = new URL(url);
    const proxy = await TcpProxy.start(target.hostname, Number(target.port || defaultPort));
    target.host = `127.0.0.1:${proxy.port}`;
    return { proxy, url: target.toString() };
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  restore(): Promise<void> {
    return this.listen(this.port);
  }

  blackhole(): void {
    this.dropping = true;
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.removeAllListeners('data');
      socket.on('data', () => undefined); // read and drop
      this.silenced.add(socket);
    }
  }

  heal(): void {
    this.dropping = false;
  }

  stop(): Promise<void> {
    return this.cut();
  }

  private listen(port: number): Promise<void> {
    const server = createServer((client) => {
      if (this.dropping) {
        this.sockets.add(client);
        this.silenced.add(client);
        client.on('close', () => this.sockets.delete(client));
        client.on('error', () => client.destroy());
        client.on('data', () => undefined); // read and drop
        return;
      }
      const upstream = createConnection(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }
}
