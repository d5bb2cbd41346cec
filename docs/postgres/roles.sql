-- The roles a folio deployment needs on the primary (docs/SCALING.md).
-- Run once with psql, as the owner of the tables folio publishes (or a
-- superuser), connected to the database folio publishes:
--
--   psql -d data -v folio_password="$FOLIO_PW" -v replicator_password="$REPL_PW" -f roles.sql
--
-- Replicas copy roles and grants from the primary: nothing to run there.

-- folio reads and never writes.
CREATE ROLE folio LOGIN PASSWORD :'folio_password';
ALTER ROLE folio SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE :"DBNAME" TO folio;
-- Every schema folio publishes (--schema, default public) needs these
-- three; tables created later by the role running this script are
-- readable at once.
GRANT USAGE ON SCHEMA public TO folio;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO folio;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO folio;

-- The replicas stream the primary's WAL as this role.
CREATE ROLE replicator REPLICATION LOGIN PASSWORD :'replicator_password';
