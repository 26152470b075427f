import { describe, expect, it } from 'vitest';
import {
  adminChannel,
  blockTimesProblem,
  CreatePirepRequestSchema,
  CreateUserRequestSchema,
  LoginRequestSchema,
  PageQuerySchema,
  PLATFORM_TENANTS_CHANNEL,
  parseIfMatch,
  parsePlatformChannel,
  pirepChannel,
  tenantChannel,
  UpdateUserRequestSchema,
  userApiKeysChannel,
  userUpdatesChannel,
} from '../src/index.js';

const pirep = {
  flight_number: 'AF1234',
  aircraft: 'F-GKXA',
  departure: 'LFPG',
  arrival: 'EGLL',
  block_off: '2026-11-30T08:00:00.000Z',
  block_on: '2026-11-30T09:15:00.000Z',
};

describe('channel helpers', () => {
  it('build names that parse back to what they name', () => {
    expect(parsePlatformChannel(userUpdatesChannel('u1'))).toEqual({ kind: 'user_updates', userId: 'u1' });
    expect(parsePlatformChannel(userApiKeysChannel('u1'))).toEqual({ kind: 'user_apikeys', userId: 'u1' });
    expect(parsePlatformChannel(tenantChannel('t1'))).toEqual({ kind: 'tenant', tenantId: 't1' });
    expect(parsePlatformChannel(adminChannel('t1'))).toEqual({ kind: 'admin', tenantId: 't1' });
    expect(parsePlatformChannel(PLATFORM_TENANTS_CHANNEL)).toEqual({ kind: 'platform_tenants' });
    expect(parsePlatformChannel(pirepChannel('p1'))).toEqual({ kind: 'pirep', pirepId: 'p1' });
  });

  it('recognise nothing else', () => {
    for (const name of [
      'user:u1',
      'user:u1:other',
      'admin:t1',
      'admin:t1:updates:x',
      'platform:users',
      'pirep:p1:x',
      'chat:t1',
      'nocolon',
      'admin::updates',
    ]) {
      expect(parsePlatformChannel(name), name).toBeNull();
    }
  });
});

describe('request schemas', () => {
  it('refuse unknown fields', () => {
    expect(LoginRequestSchema.safeParse({ email: 'a@b.co', password: 'x', admin: true }).success).toBe(false);
    expect(CreatePirepRequestSchema.safeParse({ ...pirep, status: 'approved' }).success).toBe(false);
  });

  it('check ICAO codes and block times', () => {
    expect(CreatePirepRequestSchema.safeParse(pirep).success).toBe(true);
    expect(CreatePirepRequestSchema.safeParse({ ...pirep, departure: 'lfpg' }).success).toBe(false);
    expect(CreatePirepRequestSchema.safeParse({ ...pirep, arrival: 'EGL' }).success).toBe(false);
    const reversed = CreatePirepRequestSchema.safeParse({ ...pirep, block_on: '2026-11-30T07:00:00.000Z' });
    expect(reversed.success).toBe(false);
    expect(reversed.error?.issues[0]?.path).toEqual(['block_on']);
    expect(blockTimesProblem('2026-11-30T08:00:00Z', '2026-12-01T08:00:00Z')).toBeNull();
    expect(blockTimesProblem('2026-11-30T08:00:00Z', '2026-12-01T08:00:01Z')).toMatch(/24 h/);
    expect(blockTimesProblem('2026-11-30T08:00:00Z', '2026-11-30T08:00:00Z')).toMatch(/after/);
  });

  it('ask for 12-character passwords and known roles', () => {
    const user = { email: 'pilot@example.com', display_name: 'P', roles: ['Pilot'] };
    expect(CreateUserRequestSchema.safeParse(user).success).toBe(true);
    expect(CreateUserRequestSchema.safeParse({ ...user, password: 'short' }).success).toBe(false);
    expect(CreateUserRequestSchema.safeParse({ ...user, roles: ['Root'] }).success).toBe(false);
    expect(CreateUserRequestSchema.safeParse({ ...user, roles: [] }).success).toBe(false);
    expect(UpdateUserRequestSchema.safeParse({}).success).toBe(false);
  });

  it('bound list limits', () => {
    expect(PageQuerySchema.parse({})).toEqual({ limit: 50 });
    expect(PageQuerySchema.parse({ limit: '200' }).limit).toBe(200);
    expect(PageQuerySchema.safeParse({ limit: '0' }).success).toBe(false);
    expect(PageQuerySchema.safeParse({ limit: '201' }).success).toBe(false);
  });

  it('parse If-Match', () => {
    expect(parseIfMatch(undefined)).toBeUndefined();
    expect(parseIfMatch('"3"')).toBe(3);
    expect(parseIfMatch('W/"12"')).toBe(12);
    expect(parseIfMatch('*')).toBeNull();
    expect(parseIfMatch('"abc"')).toBeNull();
  });
});

describe('event types', () => {
  it('publish API key events under apikey.* and never a password change', async () => {
    const { realtimeEventTypeOf } = await import('../src/index.js');
    expect(realtimeEventTypeOf('user.apikey_created')).toBe('apikey.created');
    expect(realtimeEventTypeOf('user.apikey_revoked')).toBe('apikey.revoked');
    expect(realtimeEventTypeOf('pirep.submitted')).toBe('pirep.submitted');
    expect(realtimeEventTypeOf('user.password_changed')).toBeNull();
    expect(realtimeEventTypeOf('user_email.reserved')).toBeNull();
  });
});
