/**
 * A TCP proxy on loopback between the worker and the Temporal server, so a test can cut the
 * worker off from the server without touching either process:
 * - `drop`: every connection is reset and new ones are refused (the worker sees errors at once);
 * - `blackhole`: connections stay open but no byte moves either way and new ones hang (the
 *   worker only notices through its own timeouts, like a dead switch or a firewall DROP rule).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type CutMode = 'drop' | 'blackhole';

export interface ChaosProxy {
  port: number;
  address: string;
  /** Connections forwarded so far (a test can tell the worker used the proxy). */
  readonly connections: number;
  cut(mode: CutMode): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startProxy(targetHost: string, targetPort: number): Promise<ChaosProxy> {
  const pairs = new Set<[Socket, Socket]>();
  const held = new Set<Socket>();
  let mode: CutMode | undefined;
  let connections = 0;

  const server: Server = createServer((down) => {
    if (mode === 'drop') return void down.resetAndDestroy();
    if (mode === 'blackhole') {
      // Accepted but never forwarded: the client's connect "succeeds" and then nothing happens.
      held.add(down);
      down.on('error', () => undefined);
      down.once('close', () => held.delete(down));
      return;
    }
    connections++;
    const up = connect(targetPort, targetHost);
    const pair: [Socket, Socket] = [down, up];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    port,
    address: `127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    cut(m) {
      mode = m;
      for (const [down, up] of pairs) {
        if (m === 'drop') {
          down.resetAndDestroy();
          up.destroy();
        } else {
          // Stop reading both ends: data piles up in kernel buffers, nothing arrives.
          down.unpipe(up);
          up.unpipe(down);
          down.pause();
          up.pause();
        }
      }
    },
    heal() {
      mode = undefined;
      // Frozen connections carry on where they stopped (what was sent meanwhile sat in
      // buffers), as after a link that came back; connections made during the cut are reset.
      for (const [down, up] of pairs) {
        down.pipe(up);
        up.pipe(down);
        down.resume();
        up.resume();
      }
      for (const s of held) s.resetAndDestroy();
      held.clear();
    },
    async close() {
      mode = 'drop';
      for (const [down, up] of pairs) (down.destroy(), up.destroy());
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
