export { PullerSpec, parsePullers, toEventBridgeCron } from "./spec";
export type { Transport } from "./transport";
export {
  pull,
  linkImports,
  force,
  checkExpected,
  candidates,
  landingKey,
  hashingCounter,
  localClock,
  type PullResult,
} from "./run";
export { deliver, deliverToAll, lazyTransport, type DeliveryResult } from "./deliver";
export { claimOwner, holderIsDead, LeaseLostError } from "./claim";
