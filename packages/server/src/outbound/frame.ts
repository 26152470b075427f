/**
 * Builds the bytes of one unmasked, unfragmented WebSocket text frame
 * (RFC 6455 §5.2) around `payload`: FIN + opcode 0x1, then the 7-, 16- or
 * 64-bit length, then the payload. Servers never mask, so one frame built
 * here can be written as-is to every subscriber's socket.
 */
export function textFrame(payload: Buffer): Buffer {
  const length = payload.length;
  let header: number;
  if (length < 126) header = 2;
  else if (length < 65_536) header = 4;
  else header = 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  payload.copy(frame, header);
  return frame;
}
