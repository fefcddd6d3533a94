-- Up Migration

-- Rule: the operations console's logins, sessions and audit log.
--   console_users          one row per login; the password only as an scrypt hash with its own salt
--                          (packages/console/src/auth/passwords.ts), never in clear.
--   console_sessions       a session is a random id in a signed cookie; the row says when it ends,
--                          so logging out or disabling a user ends it at once.
--   console_login_attempts failed logins per username and client address, for the rate limit.
--   console_secrets        the cookie-signing key, generated once per database.
--   console_audit          append-only: every action (who, role, what, target, outcome, when). UPDATE,
--                          DELETE and TRUNCATE are refused by triggers, whoever runs them, and revoked.
--   None of these is readable by leadpipe_readonly: the SQL window must not show password hashes,
--   the signing key, or other people's queries.
CREATE TABLE console_users (
  username       text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{0,62}$'),
  role           text NOT NULL CHECK (role IN ('analyst', 'marketer', 'ops', 'steward', 'admin')),
  password_hash  text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  disabled_at    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE console_sessions (
  id          text PRIMARY KEY,
  username    text NOT NULL REFERENCES console_users (username) ON DELETE CASCADE,
  ip          text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  ended_at    timestamptz
);
CREATE INDEX console_sessions_user ON console_sessions (username);

CREATE TABLE console_login_attempts (
  username    text NOT NULL,
  ip          text NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  ok          boolean NOT NULL
);
CREATE INDEX console_login_attempts_recent ON console_login_attempts (username, ip, at DESC);

CREATE TABLE console_secrets (
  name        text PRIMARY KEY,
  value       bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE console_audit (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  username    text NOT NULL,
  role        text,
  action      text NOT NULL,
  target      text,
  outcome     text NOT NULL CHECK (outcome IN ('ok', 'refused', 'error')),
  detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
  ip          text
);
CREATE INDEX console_audit_at ON console_audit (at DESC);
CREATE INDEX console_audit_user ON console_audit (username, at DESC);

CREATE FUNCTION console_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'console_audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER console_audit_no_update BEFORE UPDATE OR DELETE ON console_audit
  FOR EACH ROW EXECUTE FUNCTION console_audit_append_only();
CREATE TRIGGER console_audit_no_truncate BEFORE TRUNCATE ON console_audit
  FOR EACH STATEMENT EXECUTE FUNCTION console_audit_append_only();

REVOKE ALL ON console_users, console_sessions, console_login_attempts, console_secrets, console_audit
  FROM PUBLIC, leadpipe_readonly;
REVOKE UPDATE, DELETE, TRUNCATE ON console_audit FROM PUBLIC, leadpipe_pipeline;
REVOKE ALL ON console_secrets FROM leadpipe_pipeline;

-- Down Migration
DROP TABLE console_audit;
DROP FUNCTION console_audit_append_only();
DROP TABLE console_secrets;
DROP TABLE console_login_attempts;
DROP TABLE console_sessions;
DROP TABLE console_users;
