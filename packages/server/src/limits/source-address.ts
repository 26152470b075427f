import { isIPv4, isIPv6 } from 'node:net';

/**
 * The key a per-source-address limit counts under. IPv4 addresses (also
 * IPv4-mapped IPv6 ones) count one by one; IPv6 addresses count per /64,
 * because one host is routinely given a whole /64 and could otherwise
 * sidestep the limit by changing addresses within it. Anything unparsable
 * (a socket that closed before its address was read) shares one key.
 *
 * @example
 * sourceKey('::ffff:192.0.2.7') // '192.0.2.7'
 * sourceKey('2001:db8:1:2:a:b:c:d') // '2001:db8:1:2::/64'
 */
export function sourceKey(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return 'unknown';
  const hextets = expandIPv6(address.split('%')[0] ?? address);
  return `${hextets.slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of an IPv6 address, without leading zeros (`::` expanded). */
function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const part = (text: string | undefined): string[] => (text === undefined || text === '' ? [] : text.split(':'));
  let left = part(head);
  let right = part(tail);
  // An embedded IPv4 tail (::1.2.3.4 forms) takes two hextets; only the /64 prefix
  // matters here, so it is enough to count it as two.
  const fix = (list: string[]): string[] => list.flatMap((h) => (h.includes('.') ? ['0', '0'] : [h]));
  left = fix(left);
  right = fix(right);
  const zeros = tail === undefined ? [] : Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...zeros, ...right].map((h) => Number.parseInt(h, 16).toString(16));
}
