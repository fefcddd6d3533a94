-- Up Migration

-- Rule: where a console login's password is checked.
--   provider 'local'    the console checks it: password_hash is its scrypt hash (leadpipe user add).
--   provider 'cognito'  the stage's user pool checks it (AWS): no password here (NULL), and the role is
--                       the user's Cognito group, brought up to date at every login. An admin can still
--                       disable the user here, which ends its sessions and refuses its next logins.
ALTER TABLE console_users ADD COLUMN provider text NOT NULL DEFAULT 'local'
  CHECK (provider IN ('local', 'cognito'));
ALTER TABLE console_users ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE console_users DROP CONSTRAINT console_users_password_hash_check;
ALTER TABLE console_users ADD CONSTRAINT console_users_password_by_provider
  CHECK (CASE provider WHEN 'local' THEN password_hash LIKE 'scrypt$%' ELSE password_hash IS NULL END);

-- Down Migration
DELETE FROM console_users WHERE provider <> 'local';
ALTER TABLE console_users DROP CONSTRAINT console_users_password_by_provider;
ALTER TABLE console_users ALTER COLUMN password_hash SET NOT NULL;
ALTER TABLE console_users ADD CONSTRAINT console_users_password_hash_check CHECK (password_hash LIKE 'scrypt$%');
ALTER TABLE console_users DROP COLUMN provider;
