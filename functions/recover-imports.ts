import middy from "@middy/core";
import { Import } from "@leadpipe/core";
import { executionProbe, executionStarter, platform } from "./platform";

/**
 * Scheduled (EventBridge) and at local platform start: imports left non-terminal by an
 * execution that is gone are resumed, restarted or ended FAILED with an alert. An event may set
 * graceMs (the local platform at boot: 0, nothing else can be starting executions).
 */
export const handler = middy(async (event: { graceMs?: number } | undefined) => {
  const graceMs = typeof event?.graceMs === "number" ? event.graceMs : RECOVERY_GRACE_MS;
  const recovered = await Import.recover(await platform(), executionProbe(), executionStarter(), { graceMs });
  return { recovered };
});

/** An import registered (or recovered) this recently may still be getting its execution started. */
export const RECOVERY_GRACE_MS = 10 * 60 * 1000;
