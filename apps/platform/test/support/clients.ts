import WebSocket from 'ws';

// biome-ignore lint/suspicious/noExplicitAny: JSON read loosely in tests; every field used is asserted with expect.
export type Loose = any;

/** One HTTP answer: status, parsed JSON body (null when empty), headers. */
export interface Answer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls the platform's HTTP API with JSON. */
export async function call<T = Loose>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** A WebSocket client that records every frame it receives. */
export class WsClient {
  readonly frames: Array<Record<string, Loose>> = [];
  closed: { code: number; reason: string } | null = null;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data))));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
    });
    ws.on('error', () => {});
  }

  /** Connects with a bearer credential (access token or API key) and waits for `welcome`. */
  static async open(url: string, credential: { token?: string; apiKeyInQuery?: string }): Promise<WsClient> {
    const target =
      credential.apiKeyInQuery === undefined ? url : `${url}?api_key=${encodeURIComponent(credential.apiKeyInQuery)}`;
    const ws = new WebSocket(
      target,
      credential.token === undefined ? {} : { headers: { authorization: `Bearer ${credential.token}` } },
    );
    const client = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
    await client.waitFor((f) => f.type === 'welcome');
    return client;
  }

  /** The first frame matching, waiting up to `timeoutMs`. */
  async waitFor(match: (frame: Record<string, Loose>) => boolean, timeoutMs = 5000): Promise<Record<string, Loose>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no matching frame within ${timeoutMs} ms: ${JSON.stringify(this.frames)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Subscribes one channel: `'ok'`, or the code it was refused with. */
  async subscribe(channel: string, id: number): Promise<string> {
    this.ws.send(JSON.stringify({ type: 'subscribe', id, channels: [channel] }));
    const ack = await this.waitFor((f) => f.id === id && (f.type === 'ack' || f.type === 'error'));
    this.frames.splice(this.frames.indexOf(ack), 1);
    if (ack.type === 'error') return String(ack.code);
    if (ack.accepted?.some((a: { channel: string }) => a.channel === channel)) return 'ok';
    return String(ack.rejected?.find((r: { channel: string }) => r.channel === channel)?.code ?? 'missing');
  }

  /** Every `event` frame so far. */
  events(): Array<Record<string, Loose>> {
    return this.frames.filter((f) => f.type === 'event');
  }

  /** Resolves with the close code once closed (bounded). */
  async closedWith(timeoutMs = 5000): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.closed === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    return this.closed?.code ?? null;
  }

  close(): void {
    this.ws.terminate();
  }
}
