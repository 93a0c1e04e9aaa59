-- What authorizes a request, in one round trip: a user's role and whether it is active.
--
-- Every request's caller is checked against the users table (cached for at most four seconds,
-- `server/src/state.rs`), so with a thousand stores the server reads a user about every two
-- milliseconds. As a transaction that was three round trips (BEGIN with the store, the read,
-- COMMIT); this function names the store and reads in one statement, on a direct connection, as
-- `tills_scan` does. On Citus it is distributed by `p_store` (`tills citus distribute`): a call
-- runs on the store's worker.
CREATE FUNCTION tills_user_access(p_store text, p_user uuid)
RETURNS TABLE (role text, active boolean)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
#variable_conflict use_column
BEGIN
    PERFORM 1 FROM tills_name_store(p_store);
    RETURN QUERY
    SELECT u.role, u.active FROM users u WHERE u.store_id = p_store AND u.id = p_user AND u.deleted_at IS NULL;
END
$$;

GRANT EXECUTE ON FUNCTION tills_user_access(text, uuid) TO tills_app;
