import type { SSTConfig } from "sst";
import { DEFAULT_REGION, stageConfig } from "./stacks/config";
import { addStacks, APP_NAME } from "./stacks/index";

export default {
  config(input) {
    // An unlisted --stage is refused here (stacks/config.ts). Without --stage SST picks a personal
    // stage later; addStacks refuses it then unless it is listed.
    return { name: APP_NAME, region: input.stage ? stageConfig(input.stage).region : DEFAULT_REGION };
  },
  stacks(app) {
    addStacks(app);
  },
} satisfies SSTConfig;
