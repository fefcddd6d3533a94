export { RingCentralApi, InvalidSyncTokenError, HEAVY, AUTH, type CallRecord } from "./api";
export {
  ringcentralSync,
  ringcentralSettings,
  callsFile,
  CURSOR_TOKEN,
  CURSOR_TIME,
  CURSOR_FULL,
  type RingCentralSettings,
  type RingCentralSyncOptions,
} from "./sync";
export { RINGCENTRAL_DEPLOYMENT } from "./deploy";
