import type { ErrorCode } from './codes.js';
import type { EventFrame, EventMeta, JsonValue, StreamPosition } from './frames.js';

/** Body of `POST /api/publish` and argument of `gateway.publish()`. */
export interface PublishRequest {
  /** One channel; mutually exclusive with `channels`. */
  channel?: string;
  /** Several channels published in one call; mutually exclusive with `channel`. */
  channels?: string[];
  event_type: string;
  payload: JsonValue;
  meta?: EventMeta;
  /** A repeated key within the idempotency window publishes nothing and returns the first result. */
  idempotency_key?: string;
}

/** Where one publication landed. */
export interface PublishResult extends StreamPosition {
  channel: string;
}

/** `200` answer of `POST /api/publish`. */
export interface PublishResponse {
  results: PublishResult[];
}

/** `200` answer of `GET /api/channels/{channel}/history`. */
export interface HistoryResponse extends StreamPosition {
  channel: string;
  publications: EventFrame[];
}

/** Body of every HTTP error answer (and of a refused upgrade). */
export interface HttpErrorBody {
  code: ErrorCode;
  message: string;
}

/** Largest `limit` a history request may ask for. */
export const MAX_HISTORY_LIMIT = 1000;
/** `limit` of a history request that gives none. */
export const DEFAULT_HISTORY_LIMIT = 100;
