export { handoff, handoffKey, HANDOFF_COLUMNS, type HandoffResult } from "./handoff";
