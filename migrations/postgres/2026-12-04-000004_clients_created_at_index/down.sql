DROP INDEX clients_created_at;
