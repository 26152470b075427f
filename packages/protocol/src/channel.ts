/** Longest channel name, in bytes (channel names are ASCII, so also characters). */
export const MAX_CHANNEL_LENGTH = 255;

// `namespace:segment[:segment…]`; segments are non-empty runs of [A-Za-z0-9_.-].
const CHANNEL_RE = /^[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)+$/;

/**
 * True when `name` is a syntactically valid channel name.
 *
 * @example
 * isValidChannel('tenant:t1:updates'); // true
 * isValidChannel('nocolon');           // false
 */
export function isValidChannel(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_CHANNEL_LENGTH && CHANNEL_RE.test(name);
}

/** A channel name split into its namespace and the segments after it. */
export interface ParsedChannel {
  readonly name: string;
  readonly namespace: string;
  readonly segments: readonly string[];
}

/** Splits a valid channel name; returns `null` for an invalid one. */
export function parseChannel(name: string): ParsedChannel | null {
  if (!isValidChannel(name)) return null;
  const parts = name.split(':');
  const namespace = parts[0] ?? '';
  return { name, namespace, segments: parts.slice(1) };
}
