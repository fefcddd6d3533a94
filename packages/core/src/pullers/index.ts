export { PullerSpec, SftpSpec, FtpsSpec, GraphSpec, PullerConfigError, parsePullers, toEventBridgeCron } from "./spec";
export {
  TrustRefusedError,
  SizeMismatchError,
  DeliveryUnknownError,
  type OutboundFile,
  type RemoteEntry,
  type Transport,
} from "./transport";
export {
  pull,
  linkImports,
  force,
  checkExpected,
  candidates,
  landingKey,
  landOne,
  hashingCounter,
  localClock,
  type PullDeps,
  type PullOptions,
  type PullResult,
  type Outcome,
} from "./run";
export { deliver, deliverToAll, lazyTransport, type DeliverDeps, type DeliveryResult } from "./deliver";
export { claimOwner, holderIsDead, LeaseLostError, LEASE_SECONDS } from "./claim";
