import type { System } from "./config";
import { pipedriveSync } from "./pipedrive/sync";
import { ringcentralSync } from "./ringcentral/sync";
import type { SyncFn } from "./sync";

/** Each system's sync, by name: what `leadpipe sync <system>`, the schedules and the Lambda run. */
export const SYNCS: Partial<Record<System, SyncFn>> = {
  pipedrive: pipedriveSync(),
  ringcentral: ringcentralSync(),
};
