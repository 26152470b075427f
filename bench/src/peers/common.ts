import type { IncomingMessage, ServerResponse } from 'node:http';

/** Flag value of `--name` in argv, or the fallback. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

export interface Publication {
  channels: string[];
  eventType: string;
  payload: unknown;
}

/**
 * The same publish API as the gateway (`POST /api/publish`, bearer admin key,
 * `{"channel"|"channels","event_type","payload"}`), so the bench drives every
 * system alike. Calls `publish` with the parsed body; answers its results.
 */
export function publishHandler(
  adminKey: string,
  publish: (p: Publication) => { channel: string; offset: number }[],
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/api/publish') {
      res.writeHead(req.url === '/live' ? 200 : 404).end();
      return;
    }
    if (req.headers.authorization !== `Bearer ${adminKey}`) {
      res.writeHead(401).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          channel?: string;
          channels?: string[];
          event_type?: string;
          payload?: unknown;
        };
        const channels = body.channels ?? (body.channel === undefined ? [] : [body.channel]);
        const results = publish({
          channels,
          eventType: body.event_type ?? 'event',
          payload: body.payload ?? null,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results }));
      } catch {
        res.writeHead(400).end();
      }
    });
  };
}

export function announce(port: number): void {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port })}\n`);
}
