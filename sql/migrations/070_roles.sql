-- Up Migration

-- Rule: least-privilege database roles.
--   leadpipe_readonly  ad-hoc SQL (leadpipe sql, the console): LOGIN, reads the tables and views of
--                      schema public, writes nothing (default_transaction_read_only, and no write
--                      grant anywhere), no server-file, program, large-object, signalling or reload
--                      functions. Its session limits are restated on every migrate (sql/functions/roles.sql).
--   leadpipe_pipeline  the Lambdas and the local handlers: DML on the tables, sequences, EXECUTE on the
--                      functions, MAINTAIN on the materialized views (REFRESH); no CREATE anywhere.
--   The migrations run as the owner (the superuser locally, the cluster's master user on Aurora), which
--   keeps DDL. Passwords are never in SQL files: the platform sets them at start (local) or the migrate
--   function from their Secrets Manager secrets (AWS). Roles are cluster-wide: created once, granted
--   per database.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'leadpipe_readonly') THEN
    CREATE ROLE leadpipe_readonly LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS
      CONNECTION LIMIT 20;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'leadpipe_pipeline') THEN
    CREATE ROLE leadpipe_pipeline LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO leadpipe_readonly, leadpipe_pipeline', current_database());
END $$;

-- Nobody but the owner creates objects in public (PostgreSQL 15+ already says so; older servers did not).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO leadpipe_readonly, leadpipe_pipeline;

GRANT SELECT ON ALL TABLES IN SCHEMA public TO leadpipe_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO leadpipe_pipeline;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO leadpipe_pipeline;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO leadpipe_pipeline;
-- Tables, views and functions the owner creates later get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO leadpipe_readonly;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO leadpipe_pipeline;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO leadpipe_pipeline;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO leadpipe_pipeline;

-- REFRESH MATERIALIZED VIEW needs the owner, or the MAINTAIN privilege (PostgreSQL 17+).
DO $$
BEGIN
  IF current_setting('server_version_num')::int >= 170000 THEN
    EXECUTE 'GRANT MAINTAIN ON ALL TABLES IN SCHEMA public TO leadpipe_pipeline';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT MAINTAIN ON TABLES TO leadpipe_pipeline';
  END IF;
END $$;

-- Functions PUBLIC may execute by default that reach outside the data: large objects (lo_get reads any
-- large object, lo_from_bytea/lo_put write them), and the signalling functions (a role may signal its
-- own sessions). Revoked from PUBLIC in this database; the pipeline keeps pg_terminate_backend and
-- pg_cancel_backend (fault injection in tests ends its own session). pg_read_file, pg_ls_dir,
-- pg_reload_conf, server-side lo_import/lo_export, COPY ... PROGRAM / TO file are superuser-only (or
-- pg_read_server_files / pg_execute_server_program) already, and neither role is granted those.
-- On Aurora the master user does not own pg_catalog: the REVOKE is a warning there, not an error.
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'pg_catalog'
      AND (p.proname LIKE 'lo\_%' OR p.proname IN ('pg_terminate_backend', 'pg_cancel_backend', 'pg_log_backend_memory_contexts'))
      AND has_function_privilege('public', p.oid, 'EXECUTE')
  LOOP
    BEGIN
      EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE WARNING 'could not revoke EXECUTE on % from PUBLIC (not its owner)', f;
    END;
  END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_terminate_backend(integer, bigint), pg_catalog.pg_cancel_backend(integer)
  TO leadpipe_pipeline;

-- Down Migration
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_terminate_backend(integer, bigint), pg_catalog.pg_cancel_backend(integer)
  FROM leadpipe_pipeline;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM leadpipe_readonly, leadpipe_pipeline;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM leadpipe_pipeline;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON FUNCTIONS FROM leadpipe_pipeline;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM leadpipe_readonly, leadpipe_pipeline;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM leadpipe_pipeline;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM leadpipe_pipeline;
REVOKE USAGE ON SCHEMA public FROM leadpipe_readonly, leadpipe_pipeline;
