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
export { deliver, lazyTransport, type DeliveryResult } from "./deliver";
