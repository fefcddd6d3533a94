import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import http from "node:http";
import https from "node:https";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

/**
 * A stand-in for a Cognito user pool on 127.0.0.1, for tests: its JWKS over HTTPS (a self-signed
 * certificate made with openssl; the verifier trusts it through `ca`), and the InitiateAuth endpoint
 * (USER_PASSWORD_AUTH, AWS JSON 1.1) issuing RS256 ID and access tokens shaped as Cognito's, for the
 * users it was given. It counts the JWKS requests, so a test can see the keys are cached.
 */
export interface LocalCognito {
  userPoolId: string;
  clientId: string;
  issuer: string;
  /** The JWKS server's certificate, to trust. */
  ca: string;
  /** The InitiateAuth endpoint (http://127.0.0.1:port). */
  endpoint: string;
  jwksRequests: number;
  /** A token as the pool would sign it; `claims` override or remove (undefined) any claim. */
  token(kind: "id" | "access", username: string, groups: string[], claims?: Record<string, unknown>): string;
  /** A token signed with a key the pool never published, under the pool's key id. */
  forged(kind: "id" | "access", username: string, groups: string[]): string;
  close(): Promise<void>;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

function signJwt(payload: Record<string, unknown>, key: crypto.KeyObject, kid: string): string {
  const data = `${b64({ alg: "RS256", typ: "JWT", kid })}.${b64(payload)}`;
  return `${data}.${crypto.sign("sha256", Buffer.from(data), key).toString("base64url")}`;
}

export async function startLocalCognito(users: Record<string, { password: string; groups: string[] }>) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "leadpipe-cognito-"));
  try {
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"],
        ...["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        ...["-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")],
      ],
      { stdio: "pipe" },
    );
  } catch (err) {
    throw new Error(`openssl could not make the test certificate: ${(err as Error).message}`, { cause: err });
  }
  const cert = readFileSync(path.join(dir, "cert.pem"), "utf8");
  const tlsKey = readFileSync(path.join(dir, "key.pem"), "utf8");
  rmSync(dir, { recursive: true, force: true });

  const userPoolId = "us-east-1_LocalTest1";
  const clientId = "localclient0123456789abcd";
  const kid = "local-key-1";
  const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const other = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const jwks = { keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }] };

  const state = { jwksRequests: 0 };
  const jwksServer = https.createServer({ cert, key: tlsKey }, (req, res) => {
    if (req.url === `/${userPoolId}/.well-known/jwks.json`) {
      state.jwksRequests++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(jwks));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => jwksServer.listen(0, "127.0.0.1", r));
  const issuer = `https://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/${userPoolId}`;

  const claims = (kind: "id" | "access", username: string, groups: string[]) => {
    const now = Math.floor(Date.now() / 1000);
    const base = { sub: crypto.randomUUID(), iss: issuer, "cognito:groups": groups, iat: now, exp: now + 3600 };
    return kind === "id"
      ? { ...base, aud: clientId, token_use: "id", "cognito:username": username, auth_time: now }
      : { ...base, client_id: clientId, token_use: "access", username, scope: "aws.cognito.signin.user.admin" };
  };
  const token = (kind: "id" | "access", username: string, groups: string[], extra: Record<string, unknown> = {}) => {
    const payload: Record<string, unknown> = { ...claims(kind, username, groups), ...extra };
    for (const [k, v] of Object.entries(extra)) if (v === undefined) delete payload[k];
    return signJwt(payload, privateKey, kid);
  };

  const fail = (res: http.ServerResponse, type: string, message: string) =>
    res
      .writeHead(400, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": type })
      .end(JSON.stringify({ __type: type, message }));
  const idp = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      if (req.headers["x-amz-target"] !== "AWSCognitoIdentityProviderService.InitiateAuth")
        return fail(res, "InvalidParameterException", `unsupported ${req.headers["x-amz-target"]}`);
      const r = JSON.parse(body) as { AuthFlow: string; ClientId: string; AuthParameters: Record<string, string> };
      if (r.ClientId !== clientId) return fail(res, "ResourceNotFoundException", "User pool client does not exist.");
      if (r.AuthFlow !== "USER_PASSWORD_AUTH")
        return fail(res, "InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client");
      const u = users[r.AuthParameters.USERNAME ?? ""];
      if (!u || u.password !== r.AuthParameters.PASSWORD)
        return fail(res, "NotAuthorizedException", "Incorrect username or password.");
      const name = r.AuthParameters.USERNAME!;
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" }).end(
        JSON.stringify({
          ChallengeParameters: {},
          AuthenticationResult: {
            IdToken: token("id", name, u.groups),
            AccessToken: token("access", name, u.groups),
            RefreshToken: "opaque-refresh-token",
            ExpiresIn: 3600,
            TokenType: "Bearer",
          },
        }),
      );
    });
  });
  await new Promise<void>((r) => idp.listen(0, "127.0.0.1", r));

  const cognito: LocalCognito = {
    userPoolId,
    clientId,
    issuer,
    ca: cert,
    endpoint: `http://127.0.0.1:${(idp.address() as AddressInfo).port}`,
    get jwksRequests() {
      return state.jwksRequests;
    },
    token,
    forged: (kind, username, groups) => signJwt(claims(kind, username, groups), other, kid),
    close: async () => {
      await Promise.all([jwksServer, idp].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
  return cognito;
}
