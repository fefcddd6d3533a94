export { FIELDS, type FieldRule, type Owner } from "./mapping";
export { BURST_WINDOW_MS, LITE_BURST, PipedriveApi } from "./api";
export { OVERLAP_SECONDS, pipedriveSync, type PipedriveSyncOptions } from "./sync";
export { BASE_TOKENS, PLANS, type Plan, tokenCost, dailyTokenBudget } from "./budget";
