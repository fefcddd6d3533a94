export {
  publishAudience,
  audienceKeys,
  AudienceRequestError,
  type PublishRequest,
  type Publication,
  type WaterfallStep,
  type ReconciledStep,
  type PriorityConflict,
} from "./publish";
