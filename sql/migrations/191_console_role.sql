-- Up Migration

-- Rule: the console's own database role.
--   leadpipe_console  the operations console's pages and logins (locally and in AWS, its own password:
--                     secrets.json / ConsoleSecret, set like the others): reads every table and view of
--                     schema public (the pages' fixed queries), and writes only the console's own rows:
--                     users, sessions, login attempts, the cookie-signing key, and INSERT into the
--                     append-only audit log. No write on an import, staging, canonical, people or
--                     compliance table; no CREATE; no EXECUTE beyond PUBLIC's. The console's actions that
--                     change canonical data (a steward's merge, a marketer's publish, a replay) go through
--                     the pipeline's use cases as leadpipe_pipeline, as the CLI's do.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'leadpipe_console') THEN
    CREATE ROLE leadpipe_console LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS
      CONNECTION LIMIT 40;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO leadpipe_console', current_database());
END $$;

GRANT USAGE ON SCHEMA public TO leadpipe_console;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO leadpipe_console;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO leadpipe_console;

GRANT INSERT, UPDATE ON console_users, console_sessions TO leadpipe_console;
GRANT INSERT ON console_login_attempts, console_audit, console_secrets TO leadpipe_console;
REVOKE UPDATE, DELETE, TRUNCATE ON console_audit FROM leadpipe_console;

-- Down Migration
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM leadpipe_console;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM leadpipe_console;
REVOKE USAGE ON SCHEMA public FROM leadpipe_console;
