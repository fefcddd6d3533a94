/** The RingCentral connection and its refreshed tokens in AWS: one Secrets Manager secret, tokens written back. */
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { secretsManagerCredentials } from "../../packages/core/src/adapters/secrets";
import { Integrations } from "@leadpipe/core";

const { RINGCENTRAL_DEPLOYMENT } = Integrations.RingCentral;

describe("ringcentral credentials in Secrets Manager", () => {
  it("reads the connection, loads and stores back the tokens in the same secret, keeping its fields", async () => {
    const sm = mockClient(SecretsManagerClient);
    const name = RINGCENTRAL_DEPLOYMENT.secretName("acme");
    let stored = JSON.stringify({
      server_url: "https://platform.ringcentral.com",
      client_id: "cid",
      client_secret: "csecret",
      jwt: "eyJ.a.b",
      tokens: { access_token: "old" },
    });
    sm.on(GetSecretValueCommand, { SecretId: name }).callsFake(async () => ({ SecretString: stored }));
    sm.on(PutSecretValueCommand, { SecretId: name }).callsFake(async (input: { SecretString: string }) => {
      stored = input.SecretString;
      return {};
    });
    const creds = secretsManagerCredentials(
      RINGCENTRAL_DEPLOYMENT.secretName.bind(null, "acme"),
      "us-east-1",
      new SecretsManagerClient({ region: "us-east-1" }),
    );
    const conns = await creds.connections(["ringcentral"]);
    expect(conns.ringcentral).toEqual({
      server_url: "https://platform.ringcentral.com",
      client_id: "cid",
      client_secret: "csecret",
      jwt: "eyJ.a.b",
    });
    expect(await creds.load("ringcentral")).toEqual({ access_token: "old" });
    await creds.save("ringcentral", { access_token: "new", refresh_token: "r" });
    expect(JSON.parse(stored)).toMatchObject({
      client_id: "cid",
      jwt: "eyJ.a.b",
      tokens: { access_token: "new", refresh_token: "r" },
    });
    expect(name).toBe("leadpipe/acme/integrations/ringcentral");
    sm.restore();
  });
});
