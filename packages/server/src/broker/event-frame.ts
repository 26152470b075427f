/**
 * Builds the UTF-8 bytes of one `event` frame by concatenation, so a payload
 * serialised once per publish call is reused for every channel of that call
 * and every subscriber of each channel.
 *
 * Field order follows docs/protocol.md: type, channel, offset, epoch,
 * event_type, ts, payload, meta.
 */
export function buildEventFrame(
  channel: string,
  offset: number,
  epoch: string,
  eventType: string,
  ts: number,
  payloadJson: string,
  metaJson: string | undefined,
): Buffer {
  const head = `{"type":"event","channel":${JSON.stringify(channel)},"offset":${offset},"epoch":${JSON.stringify(epoch)},"event_type":${JSON.stringify(eventType)},"ts":${ts},"payload":`;
  const tail = metaJson === undefined ? '}' : `,"meta":${metaJson}}`;
  return Buffer.from(head + payloadJson + tail, 'utf8');
}

/** Builds the JSON body of a history answer around pre-serialised event frames. */
export function buildHistoryBody(
  channel: string,
  epoch: string,
  offset: number,
  frames: readonly { data: Buffer }[],
): Buffer {
  const head = Buffer.from(
    `{"channel":${JSON.stringify(channel)},"epoch":${JSON.stringify(epoch)},"offset":${offset},"publications":[`,
  );
  const parts: Buffer[] = [head];
  frames.forEach((frame, index) => {
    if (index > 0) parts.push(COMMA);
    parts.push(frame.data);
  });
  parts.push(CLOSE);
  return Buffer.concat(parts);
}

const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');
