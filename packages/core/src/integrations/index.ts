export {
  PipedriveConnection,
  Integrations,
  SYSTEMS,
  type System,
  parseIntegrations,
  connectionOf,
} from "./config";
export { beginSyncRun, readCursor, writeCursor } from "./runs";
export { ApiClient, RequestBudget, retryAfterMs, type BudgetOptions, type Clock } from "./http";
export { runSync, type CredentialStore, type RunSyncDeps, type SyncFn } from "./sync";
export { SYNCS } from "./registry";
export * as RingCentral from "./ringcentral/index";
export * as Pipedrive from "./pipedrive/index";
