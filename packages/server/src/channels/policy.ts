import { ErrorCode, type ParsedChannel, parseChannel } from '@albatross/protocol';
import type { Identity } from '../auth/identity.js';
import { AlbatrossError } from '../errors.js';

/** What an authorizer is asked about. */
export interface AuthorizeContext {
  readonly identity: Identity;
  readonly channel: ParsedChannel;
}

/**
 * Decides whether an identity may subscribe a channel of one namespace. May be
 * async (e.g. ask the app's database "can this user view campaign 7").
 *
 * @example
 * const authorizers = {
 *   campaign: async ({ identity, channel }) => db.canView(identity.userId, channel.segments[0]),
 * };
 */
export type ChannelAuthorizer = (context: AuthorizeContext) => boolean | Promise<boolean>;

export interface ChannelPolicyOptions {
  /** Per-namespace authorizers for namespaces other than `user` and `tenant`. */
  authorizers?: Readonly<Record<string, ChannelAuthorizer>>;
  /** Lets the `PlatformAdmin` role subscribe any tenant's channels. Off by default. */
  allowPlatformAdmin?: boolean;
}

/** The role that may cross tenants when `allowPlatformAdmin` is on. */
export const PLATFORM_ADMIN_ROLE = 'PlatformAdmin';

/**
 * The built-in channel authorization rules:
 * - `user:{userId}:{topic…}`: only that user;
 * - `tenant:{tenantId}:{topic…}`: members of that tenant (and `PlatformAdmin` when enabled);
 * - any other namespace: the namespace's authorizer, if the app gave one;
 * - in every namespace, a channel named exactly in the credential's `channels` claim.
 */
export class ChannelPolicy {
  private readonly authorizers: Readonly<Record<string, ChannelAuthorizer>>;
  private readonly allowPlatformAdmin: boolean;

  constructor(options: ChannelPolicyOptions = {}) {
    this.authorizers = options.authorizers ?? {};
    this.allowPlatformAdmin = options.allowPlatformAdmin ?? false;
  }

  /**
   * Resolves when `identity` may subscribe `name`; rejects with
   * `INVALID_MESSAGE` for a malformed name and `FORBIDDEN` for a denied one.
   */
  async authorize(identity: Identity, name: string): Promise<void> {
    const channel = parseChannel(name);
    if (!channel) throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'invalid channel name');
    if (identity.channels.includes(name)) return;
    let allowed: boolean;
    switch (channel.namespace) {
      case 'user':
        allowed = channel.segments.length >= 2 && channel.segments[0] === identity.userId;
        break;
      case 'tenant':
        allowed =
          channel.segments.length >= 2 &&
          (channel.segments[0] === identity.tenantId ||
            (this.allowPlatformAdmin && identity.roles.includes(PLATFORM_ADMIN_ROLE)));
        break;
      default: {
        const authorizer = Object.hasOwn(this.authorizers, channel.namespace)
          ? this.authorizers[channel.namespace]
          : undefined;
        if (!authorizer) {
          allowed = false;
          break;
        }
        try {
          allowed = (await authorizer({ identity, channel })) === true;
        } catch (error) {
          throw new AlbatrossError(ErrorCode.UNAVAILABLE, 'channel authorization failed', { cause: error });
        }
      }
    }
    if (!allowed) throw new AlbatrossError(ErrorCode.FORBIDDEN, 'not allowed to subscribe this channel');
  }
}

/**
 * Expands baseline channel templates for one identity: `{sub}` and
 * `{tenant_id}` are replaced by the identity's user and tenant ids.
 */
export function expandBaseline(templates: readonly string[], identity: Identity): string[] {
  const channels = templates.map((template) =>
    template.replaceAll('{sub}', identity.userId).replaceAll('{tenant_id}', identity.tenantId),
  );
  return [...new Set(channels)];
}

/** The default baseline subscriptions made at connect. */
export const DEFAULT_BASELINE = ['user:{sub}:updates', 'user:{sub}:apikeys', 'tenant:{tenant_id}:updates'] as const;
