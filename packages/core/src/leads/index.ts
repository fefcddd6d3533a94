export {
  handoff,
  handoffAndDeliver,
  handoffKey,
  HANDOFF_COLUMNS,
  type HandoffDeps,
  type HandoffResult,
  type HandoffDelivery,
  type DeliveredHandoff,
} from "./handoff";
