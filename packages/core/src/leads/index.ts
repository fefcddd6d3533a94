export { handoffAndDeliver, type HandoffResult, type DeliveredHandoff } from "./handoff";
