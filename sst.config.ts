import type { SSTConfig } from "sst";
import { stageConfig } from "./stacks/config";
import { addStacks, APP_NAME } from "./stacks/index";

export default {
  config(input) {
    // Without --stage, SST picks the personal stage later; those get the development profile.
    return { name: APP_NAME, region: stageConfig(input.stage ?? "dev").region };
  },
  stacks(app) {
    addStacks(app);
  },
} satisfies SSTConfig;
