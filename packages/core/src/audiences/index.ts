export { publishAudience, AudienceRequestError, type Publication, type ReconciledStep } from "./publish";
