import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { Notifier } from "../ports";
import { NETWORK_RETRY, withRetry, type RetryPolicy } from "./retry";

export function createSnsClient(endpoint?: string, region = "us-east-1"): SNSClient {
  return new SNSClient({ region, maxAttempts: 1, ...(endpoint ? { endpoint } : {}) });
}

export function snsNotifier(client: SNSClient, topicArn: string, policy: RetryPolicy = NETWORK_RETRY): Notifier {
  return {
    async alert(subject, message) {
      await withRetry(() => client.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message })), policy);
    },
  };
}
