-- API keys may expire: an expired key authenticates no more, like a
-- revoked one. Keys made before this migration never expire.
-- +goose Up
ALTER TABLE api_keys ADD COLUMN expires_at text;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN expires_at;
