/**
 * `@albatross/server`: the Albatross realtime gateway.
 *
 * @example
 * import http from 'node:http';
 * import { createGateway } from '@albatross/server';
 * const server = http.createServer();
 * const gateway = await createGateway({ server, auth: { jwt: { secret: process.env.JWT_SECRET } }, serveHttp: true });
 * server.listen(8080);
 */
export { type ApiKeyRecord, type ApiKeyVerifier, StaticApiKeyVerifier } from './auth/api-keys.js';
export { Authenticator, credentialOf, isJwt } from './auth/authenticator.js';
export type { Identity } from './auth/identity.js';
export { createJwtVerifier, JWT_LEEWAY_SECONDS, type JwtOptions, type JwtVerifier } from './auth/jwt.js';
export { type BrokerConfig, createBroker } from './broker/factory.js';
export { MemoryBroker, type MemoryBrokerOptions } from './broker/memory.js';
export { RedisBroker, type RedisBrokerOptions } from './broker/redis/broker.js';
export type {
  AcquireResult,
  Broker,
  BrokerPublication,
  ConnectionCounter,
  ConnectionLimits,
  ControlMessage,
  DisconnectFilter,
  HealthCheck,
  HistoryPage,
  IdempotencyStore,
  PublishInput,
  Recovery,
} from './broker/types.js';
export {
  type AuthorizeContext,
  type ChannelAuthorizer,
  ChannelPolicy,
  DEFAULT_BASELINE,
  expandBaseline,
  PLATFORM_ADMIN_ROLE,
} from './channels/policy.js';
export { AlbatrossError, toAlbatrossError } from './errors.js';
export { createGateway, GATEWAY_DEFAULTS, type Gateway, type GatewayOptions } from './gateway.js';
export type { ConnectionFilter, ConnectionInfo, ConnectionPage } from './http/api.js';
export { DEFAULT_HTTP_TIMEOUTS, type HttpTimeouts, httpServerOptions } from './http/server-timeouts.js';
export {
  handleShutdownSignals,
  type ShutdownSignalOptions,
  type SignalTarget,
} from './lifecycle/signals.js';
export { createLogger, type Logger, type LogLevel, redactUrl, silentLogger } from './log/logger.js';
