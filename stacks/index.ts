import type { App } from "sst/constructs";
import { stageConfig } from "./config";
import { Database } from "./Database";
import { Pipeline } from "./Pipeline";
import { Pullers } from "./Pullers";
import { Console } from "./Console";
import { Integrations } from "./Integrations";

export const APP_NAME = "leadpipe";

/** The stacks of one tenant, in dependency order. Used by sst.config.ts and by the offline synth. */
export function addStacks(app: App): void {
  // Development stages leave nothing behind on `sst remove`; production stages keep their data
  // (the cluster, its secret and the landing bucket set RETAIN themselves).
  if (!stageConfig(app.stage).retainData) app.setDefaultRemovalPolicy("destroy");
  app.stack(Database);
  app.stack(Pipeline);
  // Only a tenant with pullers gets the stack (CloudFormation refuses an empty template).
  if (stageConfig(app.stage).pullers?.length) app.stack(Pullers);
  app.stack(Console);
  // Only a tenant with integrations (Pipedrive, RingCentral) gets the stack.
  if (stageConfig(app.stage).integrations?.length) app.stack(Integrations);
}
