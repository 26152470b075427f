import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '@albatross/protocol';
import { AlbatrossError } from '../errors.js';

/** Writes a JSON answer. `body` may be pre-serialised bytes. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(data.length),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(data);
}

/** Writes an error answer `{"code","message"}` with the code's HTTP status. */
export function sendError(res: ServerResponse, error: AlbatrossError, headers: Record<string, string> = {}): void {
  sendJson(res, error.status, error.toBody(), headers);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * Refuses a WebSocket upgrade with a plain HTTP answer and a JSON error body,
 * before any upgrade happens.
 */
export function rejectUpgrade(socket: Duplex, error: AlbatrossError, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(error.toBody());
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_TEXT[error.status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      extra +
      `\r\n${body}`,
  );
}

/**
 * Reads a request body of at most `limit` bytes. Rejects with
 * `MESSAGE_TOO_LARGE` as soon as the declared or received size passes the
 * limit, without buffering the rest.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () =>
      new AlbatrossError(ErrorCode.MESSAGE_TOO_LARGE, `body larger than ${limit} bytes (max-publish-bytes)`);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (error) => {
      if (done) return;
      done = true;
      reject(new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'request body could not be read', { cause: error }));
    });
  });
}
