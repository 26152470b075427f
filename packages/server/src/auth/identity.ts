/** Who is on the other end of a connection, as established by its credential. */
export interface Identity {
  /** `sub`: globally unique user (or service) id. */
  readonly userId: string;
  readonly tenantId: string;
  readonly roles: readonly string[];
  /** Exact extra channel names this credential may subscribe (the JWT `channels` claim). */
  readonly channels: readonly string[];
  /** Expiry, seconds since the Unix epoch; undefined for credentials that do not expire. */
  readonly exp?: number;
  readonly credential: { kind: 'jwt' } | { kind: 'api_key'; keyId: string };
}
