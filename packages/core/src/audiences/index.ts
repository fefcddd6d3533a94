export { publishAudience, AudienceRequestError, type Publication, type ReconciledStep } from "./publish";
export { riskIfSkipped, COMPLIANCE_STEPS, type CheckRisk } from "./risk";
