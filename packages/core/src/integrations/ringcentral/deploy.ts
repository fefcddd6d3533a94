/**
 * What the integrations stack needs to run the RingCentral sync in AWS (the stack takes a list of
 * systems): its secret (the connection's fields plus the refreshed "tokens", written back by the
 * sync, so the function may read and put that one secret only), its EventBridge Scheduler
 * schedule, and the Lambda's timeout. Set "max_run_minutes": 13 in the secret so a long full
 * sync stops at a stored page and the next scheduled run resumes it.
 */
export const RINGCENTRAL_DEPLOYMENT = {
  system: "ringcentral",
  secretName: (stage: string) => `leadpipe/${stage}/integrations/ringcentral`,
  /** Every 15 minutes: an incremental run spends 2-3 of the Heavy group's 10 requests a minute. */
  schedule: "cron(*/15 * * * ? *)",
  timezone: "UTC",
  lambdaTimeoutMinutes: 15,
  secretActions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
} as const;
