export { ringcentralSync, type RingCentralSyncOptions } from "./sync";
export { RINGCENTRAL_DEPLOYMENT } from "./deploy";
