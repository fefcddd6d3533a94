export { handoff, handoffKey, HANDOFF_COLUMNS, type HandoffDeps, type HandoffResult } from "./handoff";
