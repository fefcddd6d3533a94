export { PullerSpec, parsePullers, toEventBridgeCron } from "./spec";
export type { Transport } from "./transport";
export { streamHash, type HashPlace } from "./hasher";
export {
  pull,
  linkImports,
  force,
  checkExpected,
  missingFiles,
  expectedFile,
  candidates,
  landingKey,
  hashingCounter,
  localClock,
  type PullResult,
  type MissingFile,
} from "./run";
export { deliver, deliverToAll, lazyTransport, type DeliveryResult } from "./deliver";
export { claimOwner, holderIsDead, LeaseLostError } from "./claim";
export { recentRuns, lastRuns, ledger, type PullerRun, type LedgerFile } from "./ledger";
