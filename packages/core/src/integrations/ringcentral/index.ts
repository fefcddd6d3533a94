export { RingCentralApi, InvalidSyncTokenError, HEAVY, AUTH, type CallRecord } from "./api";
export {
  ringcentralSync,
  ringcentralSettings,
  callsFile,
  CURSOR_TOKEN,
  CURSOR_TIME,
  type RingCentralSettings,
  type RingCentralSyncOptions,
} from "./sync";
