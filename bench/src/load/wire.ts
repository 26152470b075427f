import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * A minimal RFC 6455 client for the load generator. `ws` allocates a Buffer,
 * runs a Writable stream and emits an event per message; this one scans the
 * received chunk in place and hands the handler a (buffer, start, end) range,
 * so a delivery costs the load generator a few hundred nanoseconds.
 */

export interface FrameSink {
  /** A complete text or binary message in buf[start, end). */
  onMessage(conn: WireConn, buf: Buffer, start: number, end: number): void;
  onOpen(conn: WireConn): void;
  /** Called once: the close code the server sent (or 1006), or the HTTP status when the upgrade was refused. */
  onClose(conn: WireConn, code: number, httpStatus: number): void;
}

export interface WireTarget {
  host: string;
  port: number;
  path: string;
  localAddress?: string;
  headers?: Record<string, string>;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const HEADER_END = Buffer.from('\r\n\r\n');
const maskKey = Buffer.alloc(4);
/**
 * Every connection reads into this one buffer (net's `onread`): no stream
 * machinery, no Buffer allocated per read. A frame cut by the end of a read
 * is copied out before the next read overwrites it.
 */
const readBuffer = Buffer.allocUnsafe(256 * 1024);

/** Builds one masked client frame (the client must mask, RFC 6455 5.3). */
export function encodeClientFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? 6 : len < 65536 ? 8 : 14;
  const out = Buffer.allocUnsafe(head + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  randomFillSync(maskKey);
  maskKey.copy(out, head - 4);
  for (let i = 0; i < len; i++) out[head + i] = (payload[i] as number) ^ (maskKey[i & 3] as number);
  return out;
}

export class WireConn {
  socket: Socket | null = null;
  open = false;
  closed = false;
  /** Free for the protocol layer (index, offsets, state). */
  index = 0;
  lastOffset = -1;
  offsetAt = 0;
  epoch = '';
  ready = false;
  recovered = false;
  replayed = 0;
  /** Called by the protocol layer when the connection became ready or failed. */
  onSettle: (() => void) | null = null;
  private pending: Buffer | null = null;
  private fragments: Buffer[] | null = null;
  private key = '';
  private closeCode = 1006;

  constructor(
    readonly target: WireTarget,
    readonly sink: FrameSink,
    readonly counters: { wireBytes: number; reads: number },
  ) {}

  connect(): void {
    const t = this.target;
    this.key = randomBytes(16).toString('base64');
    const socket = connect({
      host: t.host,
      port: t.port,
      localAddress: t.localAddress,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (bytes: number, buf: Uint8Array) => {
          this.onData(buf as Buffer, bytes);
          return true;
        },
      },
    });
    this.socket = socket;
    let head = `GET ${t.path} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n`;
    for (const [name, value] of Object.entries(t.headers ?? {})) head += `${name}: ${value}\r\n`;
    socket.write(`${head}\r\n`);
    socket.on('error', () => this.finish(1006, 0));
    socket.on('close', () => this.finish(this.closeCode, 0));
  }

  sendText(text: string): void {
    if (this.open && this.socket) this.socket.write(encodeClientFrame(0x1, Buffer.from(text)));
  }

  /**
   * Drops the TCP connection without a close handshake, as a network loss
   * would, with a RST: no TIME_WAIT is left on the load-generator side, whose
   * bound source ports would otherwise run out across a suite.
   */
  destroy(): void {
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      if (socket.connecting || socket.readyState === 'opening') socket.destroy();
      else socket.resetAndDestroy();
    }
    this.finish(1006, 0);
  }

  private finish(code: number, httpStatus: number): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    this.pending = null;
    this.socket?.destroy();
    this.sink.onClose(this, code, httpStatus);
  }

  /** `bytes` new bytes at the start of `chunk` (the shared read buffer). */
  onData(chunk: Buffer, bytes: number): void {
    this.counters.wireBytes += bytes;
    this.counters.reads++;
    let buf = chunk.length === bytes ? chunk : chunk.subarray(0, bytes);
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, buf]);
      this.pending = null;
    }
    let pos = 0;
    if (!this.open) {
      const end = buf.indexOf(HEADER_END);
      if (end < 0) {
        if (buf.length > 16_384) this.finish(1006, 0);
        else this.pending = Buffer.from(buf);
        return;
      }
      const head = buf.toString('latin1', 0, end);
      const status = Number(head.slice(9, 12));
      if (status !== 101) {
        this.finish(1006, status);
        return;
      }
      const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head)?.[1];
      const expected = createHash('sha1')
        .update(this.key + GUID)
        .digest('base64');
      if (accept !== expected) {
        this.finish(1006, status);
        return;
      }
      this.open = true;
      pos = end + 4;
      this.sink.onOpen(this);
      if (this.closed) return;
    }
    this.parseFrames(buf, pos);
  }

  /** Walks every complete frame of buf from pos; keeps an incomplete tail for the next chunk. */
  parseFrames(buf: Buffer, from: number): void {
    let pos = from;
    const len = buf.length;
    while (pos + 2 <= len) {
      const b0 = buf[pos] as number;
      const b1 = buf[pos + 1] as number;
      let size = b1 & 0x7f;
      let head = 2;
      if (size === 126) {
        if (pos + 4 > len) break;
        size = buf.readUInt16BE(pos + 2);
        head = 4;
      } else if (size === 127) {
        if (pos + 10 > len) break;
        size = buf.readUInt32BE(pos + 2) * 2 ** 32 + buf.readUInt32BE(pos + 6);
        head = 10;
      }
      if (b1 & 0x80) {
        this.finish(1002, 0); // servers never mask
        return;
      }
      const start = pos + head;
      const end = start + size;
      if (end > len) break;
      pos = end;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === 0x1 || opcode === 0x2) {
        if (fin) this.sink.onMessage(this, buf, start, end);
        else this.fragments = [Buffer.from(buf.subarray(start, end))];
      } else if (opcode === 0x0) {
        if (this.fragments === null) continue;
        this.fragments.push(Buffer.from(buf.subarray(start, end)));
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = null;
          this.sink.onMessage(this, whole, 0, whole.length);
        }
      } else if (opcode === 0x9) {
        this.socket?.write(encodeClientFrame(0xa, buf.subarray(start, end)));
      } else if (opcode === 0x8) {
        this.closeCode = size >= 2 ? buf.readUInt16BE(start) : 1005;
        this.socket?.write(encodeClientFrame(0x8, buf.subarray(start, Math.min(end, start + 2))));
        this.finish(this.closeCode, 0);
        return;
      }
      if (this.closed) return;
    }
    // Copied: buf may be the shared read buffer, which the next read overwrites.
    if (pos < len) this.pending = Buffer.from(buf.subarray(pos));
  }
}
