import pRetry from "p-retry";
import { isTransient } from "../errors";

/**
 * Network calls to S3, SNS and Step Functions are retried here, once, with exponential backoff
 * (the SDK clients are built with maxAttempts 1 so retries do not multiply). Only transient
 * faults are retried; a permanent error (access denied, no such key) fails at once. After the
 * last retry the error goes up, where the ASL's Retry and then its Catch take over.
 */
export interface RetryPolicy {
  retries: number;
  minTimeoutMs: number;
  factor: number;
}

/** 3 retries after 200, 400, 800 ms. */
export const NETWORK_RETRY: RetryPolicy = { retries: 3, minTimeoutMs: 200, factor: 2 };

export function withRetry<T>(fn: () => Promise<T>, policy: RetryPolicy = NETWORK_RETRY): Promise<T> {
  return pRetry(fn, {
    retries: policy.retries,
    minTimeout: policy.minTimeoutMs,
    factor: policy.factor,
    shouldRetry: ({ error }) => isTransient(error),
  });
}
