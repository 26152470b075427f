import { describe, expect, it } from 'vitest';
import { parseClientFrame } from '../src/validate.js';

describe('smoke', () => {
  it('parses ping', () => {
    expect(parseClientFrame('{"type":"ping","id":1}')).toEqual({ ok: true, frame: { type: 'ping', id: 1 } });
  });
});
