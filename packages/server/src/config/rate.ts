/** A token-bucket rate: `burst` tokens, refilled evenly over `perMs`. */
export interface Rate {
  readonly burst: number;
  readonly perMs: number;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * Parses `N/<n>(ms|s|m|h)`, e.g. `10/10s`: a burst of 10 refilled at one token
 * per second. Returns null for anything else.
 */
export function parseRate(text: string): Rate | null {
  const match = /^(\d+)\/(\d*)(ms|s|m|h)$/.exec(text.trim());
  if (!match) return null;
  const burst = Number(match[1]);
  const amount = match[2] === '' ? 1 : Number(match[2]);
  const perMs = amount * UNIT_MS[match[3] as keyof typeof UNIT_MS];
  if (!Number.isSafeInteger(burst) || burst < 1 || !Number.isSafeInteger(perMs) || perMs < 1) return null;
  return { burst, perMs };
}
