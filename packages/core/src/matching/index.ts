/**
 * The offline matching engine: `leadpipe match` and the benchmarks cluster a whole file in memory,
 * standardizing on worker threads (parallel.ts, profile-worker.ts), with the tiered rules or the
 * Fellegi–Sunter model (model.ts), and score the result against a truth (accuracy.ts). Nothing on the
 * pipeline's path imports this folder: the pipeline resolves people in the database
 * (people/resolve.ts), with the rules and the blocking it shares with this engine (people/match.ts,
 * people/matcher.ts).
 */
export {
  keyedBatch,
  ProfileWorker,
  standardizedBatches,
  standardizedProfiles,
  type ParallelOptions,
  type ProfileBatch,
} from "./parallel";
export {
  clusterContacts,
  clusterContactsOnWorker,
  clusterContactsWithModel,
  type ClusterInput,
  type ClusteredRow,
  type ClusterSummary,
} from "./cluster";
export { pairwiseScores, type PairwiseScores } from "./accuracy";
export {
  linkRecords,
  modelRecordOf,
  MODEL_FIELDS,
  type ModelRecord,
  type ModelOptions,
  type ModelResult,
  type ModelLink,
  type TrainedModel,
  type Contribution,
} from "./model";
