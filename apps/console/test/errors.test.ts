import { ErrorCode } from '@albatross/protocol';
import { describe, expect, it } from 'vitest';
import { ApiError, ERROR_MESSAGES, errorFromResponse, fieldErrors, toApiError } from '../src/api/errors.js';

describe('errorFromResponse', () => {
  it('keeps the shared code of a {code, message, details} body and maps it to a message for people', () => {
    const error = errorFromResponse(409, {
      code: 'CONCURRENCY_CONFLICT',
      message: 'expected version 3, stream is at 4',
      details: { current_version: 4 },
    });
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe('CONCURRENCY_CONFLICT');
    expect(error.message).toBe(ERROR_MESSAGES.CONCURRENCY_CONFLICT);
    expect(error.serverMessage).toBe('expected version 3, stream is at 4');
    expect(error.details).toEqual({ current_version: 4 });
    expect(error.status).toBe(409);
  });

  it('has a message for every shared error code', () => {
    for (const code of Object.values(ErrorCode)) expect(ERROR_MESSAGES[code].length).toBeGreaterThan(10);
  });

  it('falls back on the HTTP status when the body is not a platform error (a proxy page, no body)', () => {
    expect(errorFromResponse(502, '<html>bad gateway</html>').code).toBe('INTERNAL');
    expect(errorFromResponse(503, undefined).code).toBe('UNAVAILABLE');
    expect(errorFromResponse(404, { code: 'NO_SUCH_CODE' }).code).toBe('NOT_FOUND');
    expect(errorFromResponse(400, null).code).toBe('INVALID_MESSAGE');
  });

  it('says how long to wait on RATE_LIMITED with Retry-After', () => {
    const error = errorFromResponse(429, { code: 'RATE_LIMITED', message: 'slow down' }, '17');
    expect(error.retryAfterSeconds).toBe(17);
    expect(error.message).toContain('17 s');
  });
});

describe('toApiError', () => {
  it('turns a network failure into UNAVAILABLE and anything else into INTERNAL', () => {
    expect(toApiError(new TypeError('Failed to fetch')).code).toBe('UNAVAILABLE');
    expect(toApiError(new Error('boom')).code).toBe('INTERNAL');
    const original = errorFromResponse(403, { code: 'FORBIDDEN', message: 'no' });
    expect(toApiError(original)).toBe(original);
  });
});

describe('fieldErrors', () => {
  it('maps details.issues paths to field messages and ignores malformed entries', () => {
    const error = errorFromResponse(400, {
      code: 'INVALID_MESSAGE',
      message: 'bad body',
      details: { issues: [{ path: ['departure'], message: 'a 4-letter ICAO code' }, { nope: 1 }, 'x'] },
    });
    expect(fieldErrors(error)).toEqual({ departure: 'a 4-letter ICAO code' });
  });
});
