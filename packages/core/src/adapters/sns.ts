import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { Notifier } from "../ports";

export function snsNotifier(client: SNSClient, topicArn: string): Notifier {
  return {
    async alert(subject, message) {
      await client.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }));
    },
  };
}
