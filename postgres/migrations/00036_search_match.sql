-- The chunks of the current tenant whose search vector matches a tsquery,
-- found through the GIN index of 00018.
--
-- Under row-level security (00016) a tenant's statements cannot use that
-- index: the policy's tenant test comes first, and the planner will not
-- evaluate @@ (ts_match_vq, not leakproof) before it, so it read every
-- chunk of the tenant and tested each vector. On a tenant of 1,000,000
-- chunks a search took 13 s as engram_app, 0.38 s with the GIN index.
-- This function runs as its owner (the role that migrates, a member of
-- engram_maintenance, whose policy admits every row) and so can use the
-- index, but it takes the tenant from engram.tenant_id, the setting the
-- policies read, not from its caller: it returns exactly the rows the
-- policy would, and only their keys; the statement that calls it reads
-- the chunks and documents under the policy as before.
--
-- It returns at most lim chunks, the best by ts_rank: a query whose every
-- word most chunks hold (engram.PlanSearchMatch could leave none out)
-- matched all 1,000,000 chunks, and reading each one's row and document
-- took 30 s; the caller asks for ten times the candidates it ranks, so
-- only such a query, with filters that leave out most of those, can miss
-- a result.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION search_match(tsq tsquery, lim integer) RETURNS TABLE (document_id uuid, chunk_index integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT c.document_id, c.chunk_index FROM document_chunks c
     WHERE c.tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid AND c.search @@ tsq
     ORDER BY ts_rank(c.search, tsq) DESC, c.document_id, c.chunk_index
     LIMIT lim
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION search_match(tsquery, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION search_match(tsquery, integer) TO engram_app, engram_maintenance;

-- +goose Down
DROP FUNCTION search_match(tsquery, integer);
