import {
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  NotAuthorizedException,
  UserNotConfirmedException,
  UserNotFoundException,
  PasswordResetRequiredException,
} from "@aws-sdk/client-cognito-identity-provider";
import { validateCognitoJwtFields } from "aws-jwt-verify/cognito-verifier";
import { JwtRsaVerifier } from "aws-jwt-verify";
import { SimpleFetcher } from "aws-jwt-verify/https";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import type { IdentityLogin, IdentityProvider } from "../auth/identity";
import { roleFromGroups } from "../auth/identity";
import type { User } from "../auth/store";

export interface CognitoSettings {
  region: string;
  userPoolId: string;
  /** The console's app client (no secret): the audience of its ID tokens, the client_id of its access tokens. */
  clientId: string;
  /** Defaults to the pool's: https://cognito-idp.<region>.amazonaws.com/<pool id>. Tests point it at a local server. */
  issuer?: string;
  /** Options for the JWKS request (tests: the local server's CA). */
  jwksRequestOptions?: { ca?: string | Buffer; [option: string]: unknown };
  /** Cognito's endpoint (tests); the SDK's default otherwise. */
  endpoint?: string;
}

const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,62}$/;

/**
 * The stage's Cognito user pool as the console's identity provider. Tokens are verified with
 * aws-jwt-verify (signature against the pool's JWKS, fetched once and cached, refetched for an unknown
 * key id; issuer; expiry; token_use; client id), and the user's role is its `cognito:groups`.
 * Logins go through InitiateAuth (USER_PASSWORD_AUTH) from the console's own form, so the browser, the
 * CLI (`leadpipe login`) and the tests log in the same way (docs/console.md says why not the hosted UI).
 */
export function cognitoIdentity(s: CognitoSettings): IdentityProvider & { issuer: string } {
  const issuer = s.issuer ?? `https://cognito-idp.${s.region}.amazonaws.com/${s.userPoolId}`;
  const verifier = JwtRsaVerifier.create(
    {
      issuer,
      jwksUri: `${issuer}/.well-known/jwks.json`,
      // Cognito's ID tokens carry the client id in `aud`, its access tokens in `client_id` (checked below).
      audience: null,
      customJwtCheck: ({ payload }) => validateCognitoJwtFields(payload, { tokenUse: null, clientId: s.clientId }),
    },
    { jwksCache: new SimpleJwksCache({ fetcher: new SimpleFetcher({ defaultRequestOptions: s.jwksRequestOptions }) }) },
  );
  let client: CognitoIdentityProviderClient | undefined;

  const verify = async (token: string): Promise<User | undefined> => {
    let payload: Record<string, unknown>;
    try {
      payload = (await verifier.verify(token)) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const name = String(payload["cognito:username"] ?? payload.username ?? "").toLowerCase();
    const role = roleFromGroups(payload["cognito:groups"]);
    if (!USERNAME.test(name) || !role) return undefined;
    return { username: name, role };
  };

  const login = async (username: string, password: string): Promise<IdentityLogin> => {
    client ??= new CognitoIdentityProviderClient({ region: s.region, endpoint: s.endpoint });
    try {
      const r = await client.send(
        new InitiateAuthCommand({
          AuthFlow: "USER_PASSWORD_AUTH",
          ClientId: s.clientId,
          AuthParameters: { USERNAME: username, PASSWORD: password },
        }),
      );
      if (r.ChallengeName === "NEW_PASSWORD_REQUIRED") return { ok: false, reason: "password-change-required" };
      const token = r.AuthenticationResult?.IdToken;
      if (!token) return { ok: false, reason: "unavailable", detail: `challenge ${r.ChallengeName ?? "none"}` };
      const user = await verify(token);
      return user ? { ok: true, user } : { ok: false, reason: "no-role" };
    } catch (err) {
      if (
        err instanceof NotAuthorizedException ||
        err instanceof UserNotFoundException ||
        err instanceof UserNotConfirmedException
      )
        return { ok: false, reason: "invalid" };
      if (err instanceof PasswordResetRequiredException) return { ok: false, reason: "password-change-required" };
      return { ok: false, reason: "unavailable", detail: (err as Error).message };
    }
  };

  return { name: "cognito", issuer, login, verify };
}
