export { pipedriveSync } from "./sync";
export { BASE_TOKENS, PLANS } from "./budget";
