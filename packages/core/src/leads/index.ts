export {
  handoff,
  handoffAndDeliver,
  handoffKey,
  HANDOFF_COLUMNS,
  type HandoffResult,
  type HandoffDelivery,
  type DeliveredHandoff,
} from "./handoff";
