/**
 * The console's view of the platform contract: everything comes from
 * `@albatross/platform-api` (the schemas the platform validates with), so a
 * form refuses exactly what the API refuses. Only names the console uses are
 * re-exported here, to keep the pages' imports short.
 */
export {
  type ApiKey,
  ApprovePirepRequestSchema,
  adminChannel,
  type ChangePasswordRequest,
  ChangePasswordRequestSchema,
  type CreateApiKeyRequest,
  CreateApiKeyRequestSchema,
  type CreatedApiKey,
  type CreatedUser,
  type CreatePirepRequest,
  CreatePirepRequestSchema,
  type CreateTenantRequest,
  CreateTenantRequestSchema,
  type CreateUserRequest,
  CreateUserRequestSchema,
  type DisconnectRequest,
  type DisconnectResponse,
  type LiveConnection,
  type LoginRequest,
  LoginRequestSchema,
  type Page,
  type Pirep,
  type PirepStatus,
  PLATFORM_TENANTS_CHANNEL,
  PlatformEventType,
  type ProjectionList,
  type ProjectionStatus,
  pirepChannel,
  type RebuildResult,
  RejectPirepRequestSchema,
  ROLES,
  type Role,
  type Tenant,
  type TokenResponse,
  tenantChannel,
  type UpdatePirepRequest,
  type UpdateUserRequest,
  type User,
  userApiKeysChannel,
  userUpdatesChannel,
} from '@albatross/platform-api';

import type { User } from '@albatross/platform-api';

/** `GET /api/me`: the signed-in user. */
export type Me = User;
