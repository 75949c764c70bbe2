-- Nodes keep the sessions they have read (store::session_cache) and forget them when told.
-- These triggers tell them, in the transaction of the change, so no writer can forget: the
-- notification on channel labinn_sessions reaches every listening node when it commits.
-- The payload is the account whose sessions changed, or '*' when the catalog's stamp moved
-- (a session carries the stamp). PostgreSQL sends one notification per distinct payload and
-- transaction. A new token needs none: no node can have kept a session for it.

-- For rows that name their account in account_id (tokens, role grants).
CREATE FUNCTION notify_session_owner() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('labinn_sessions', OLD.account_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('labinn_sessions', NEW.account_id);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- For the account rows themselves.
CREATE FUNCTION notify_session_account() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('labinn_sessions', OLD.id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_auth_tokens AFTER UPDATE OR DELETE ON auth_tokens
FOR EACH ROW EXECUTE FUNCTION notify_session_owner();
CREATE TRIGGER sessions_accounts AFTER UPDATE OR DELETE ON accounts
FOR EACH ROW EXECUTE FUNCTION notify_session_account();
CREATE TRIGGER sessions_role_grants AFTER INSERT OR UPDATE OR DELETE ON role_grants
FOR EACH ROW EXECUTE FUNCTION notify_session_owner();

CREATE FUNCTION notify_session_all() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('labinn_sessions', '*');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_catalog_version AFTER UPDATE ON catalog_version
FOR EACH STATEMENT EXECUTE FUNCTION notify_session_all();
