import { ArnFormat, type Stack } from "aws-cdk-lib";

/**
 * The ARN to grant for a Secrets Manager secret named in a stage's config (a puller's or a delivery
 * destination's `secret`): an ARN as given, or the name's ARN with the random 6-character suffix
 * Secrets Manager appends.
 */
export function namedSecretArn(stack: Stack, secret: string): string {
  return secret.startsWith("arn:")
    ? secret
    : stack.formatArn({
        service: "secretsmanager",
        resource: "secret",
        resourceName: `${secret}-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
}
