export * as Sources from "./sources/index";
export * as Import from "./imports/index";
export * as Views from "./views";
export { createPool, migrate, withTransaction } from "./db";
export type { Pool, PoolClient, Queryable } from "./db";
export { config, loadConfig, resetConfig, type Config } from "./config";
export { createLogger, log, type Logger } from "./log";
export { FileRejectedError, RetryableError, ConfigError, isTransient, asRetryable } from "./errors";
export type { Deps, ObjectStore, Notifier, ExecutionStarter, Settings } from "./ports";
