-- Rule: the read-only role's session limits (re-runnable: restated on every migrate).
-- PostgreSQL lets any role change its own session defaults (ALTER ROLE me SET ...) from a read-write
-- transaction. leadpipe sql and the console never give it one (one statement, in BEGIN READ ONLY, and
-- the role defaults to read-only transactions), and these defaults are put back on every start and
-- deploy, whatever a direct login changed. The CLI enforces its timeout on the client side too.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'leadpipe_readonly') THEN
    ALTER ROLE leadpipe_readonly RESET ALL;
    ALTER ROLE leadpipe_readonly SET default_transaction_read_only = on;
    ALTER ROLE leadpipe_readonly SET statement_timeout = '30s';
    ALTER ROLE leadpipe_readonly SET idle_in_transaction_session_timeout = '2min';
    ALTER ROLE leadpipe_readonly SET idle_session_timeout = '1h';
    ALTER ROLE leadpipe_readonly SET lock_timeout = '10s';
    -- A client that went away stops its query within seconds, not at the statement timeout.
    ALTER ROLE leadpipe_readonly SET client_connection_check_interval = '2s';
  END IF;
END $$;

-- Rule: the console role's session limits (re-runnable). Its pages' queries are fixed and indexed; a
-- page that takes longer than this is a bug to fix, not to wait for.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'leadpipe_console') THEN
    ALTER ROLE leadpipe_console RESET ALL;
    ALTER ROLE leadpipe_console SET statement_timeout = '30s';
    ALTER ROLE leadpipe_console SET idle_in_transaction_session_timeout = '2min';
    ALTER ROLE leadpipe_console SET lock_timeout = '10s';
  END IF;
END $$;
