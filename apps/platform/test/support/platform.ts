import { randomBytes } from 'node:crypto';
import { type Platform, startPlatform } from '../../src/app.js';
import { call, type Loose } from './clients.js';

/** A password long and random enough for tests that grep for nothing. */
export const newPassword = () => `pw-${randomBytes(18).toString('base64url')}`;

/** A logged-in user of a running platform. */
export interface Session {
  id: string;
  tenantId: string;
  token: string;
  password: string;
}

/** Logs in; answers the access token. */
export async function login(url: string, email: string, password: string): Promise<Loose> {
  const answer = await call(url, 'POST', '/api/auth/login', { body: { email, password } });
  if (answer.status !== 200) throw new Error(`login ${email}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** The bootstrap PlatformAdmin, with the one-time password changed. */
export async function platformAdmin(platform: Platform): Promise<Session> {
  const boot = platform.bootstrap;
  if (!boot) throw new Error('this platform did not bootstrap');
  const first = await login(platform.url, boot.email, boot.password);
  const password = newPassword();
  const changed = await call(platform.url, 'POST', '/api/me/password', {
    token: first.access_token,
    body: { current_password: boot.password, new_password: password },
  });
  if (changed.status !== 200) throw new Error(`password change: ${changed.status} ${JSON.stringify(changed.body)}`);
  return { id: boot.userId, tenantId: 'platform', token: changed.body.access_token, password };
}

/** Creates a tenant as `admin`; answers its id. */
export async function createTenant(url: string, admin: Session, name: string): Promise<string> {
  const answer = await call(url, 'POST', '/api/tenants', { token: admin.token, body: { name } });
  if (answer.status !== 201) throw new Error(`create tenant: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.id;
}

/** Creates a user with a password (no forced change) and logs them in. */
export async function createUser(
  url: string,
  admin: Session,
  tenantId: string,
  roles: string[],
  name = `u${randomBytes(4).toString('hex')}`,
): Promise<Session> {
  const password = newPassword();
  const email = `${name}@example.com`;
  const answer = await call(url, 'POST', `/api/tenants/${tenantId}/users`, {
    token: admin.token,
    body: { email, display_name: name, roles, password },
  });
  if (answer.status !== 201) throw new Error(`create user: ${answer.status} ${JSON.stringify(answer.body)}`);
  const tokens = await login(url, email, password);
  return { id: answer.body.id, tenantId, token: tokens.access_token, password };
}

export { startPlatform };
