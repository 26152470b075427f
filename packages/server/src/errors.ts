/**
 * The gateway's error class is the shared one from `@albatross/protocol`
 * (the event store throws the same class); re-exported here so existing
 * imports keep working.
 */
import { AlbatrossError, ErrorCode } from '@albatross/protocol';

export { AlbatrossError, toAlbatrossError } from '@albatross/protocol';

/**
 * A `RATE_LIMITED` refusal that says when to come back: HTTP answers carry it
 * as `Retry-After` (whole seconds, rounded up).
 */
export class RateLimitedError extends AlbatrossError {
  readonly retryAfterMs: number;

  constructor(message: string, retryAfterMs: number) {
    super(ErrorCode.RATE_LIMITED, message);
    this.retryAfterMs = Math.max(0, Math.ceil(retryAfterMs));
  }

  /** `Retry-After` header value: whole seconds, at least 1. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }
}
