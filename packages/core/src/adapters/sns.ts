import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { Notifier } from "../ports";
import { NETWORK_RETRY, withRetry, type RetryPolicy } from "./retry";

export function createSnsClient(endpoint?: string, region = "us-east-1"): SNSClient {
  return new SNSClient({ region, maxAttempts: 1, ...(endpoint ? { endpoint } : {}) });
}

/** SNS refuses a subject of 100 characters or more. */
export const MAX_SUBJECT_LENGTH = 99;

/**
 * A subject SNS accepts, from any text (a file name may hold newlines, control characters, any
 * script, and run to 1,024 bytes): printable ASCII only (accents dropped, other characters as
 * "?", line breaks and runs of white space as one space), starting with a letter, digit or
 * punctuation, under 100 characters ("..." where it was cut). SNS refuses anything else, and a
 * refused alert is a lost one.
 */
export function alertSubject(text: string): string {
  let s = text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, " ")
    .replace(/[^\x20-\x7e]/gu, "?")
    .trim();
  if (s === "") s = "leadpipe alert";
  return s.length > MAX_SUBJECT_LENGTH ? s.slice(0, MAX_SUBJECT_LENGTH - 3).trimEnd() + "..." : s;
}

export function snsNotifier(client: SNSClient, topicArn: string, policy: RetryPolicy = NETWORK_RETRY): Notifier {
  return {
    async alert(subject, message) {
      const Subject = alertSubject(subject);
      await withRetry(() => client.send(new PublishCommand({ TopicArn: topicArn, Subject, Message: message })), policy);
    },
  };
}
