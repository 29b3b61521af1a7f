-- Each instance polls for clients created in the last seconds, to forget
-- the unknown ids it remembers that now exist.
CREATE INDEX clients_created_at ON clients (created_at);
