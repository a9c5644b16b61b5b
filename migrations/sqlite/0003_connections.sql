-- Which applications may use which connection (Auth0's `enabled_clients`), one row per pair,
-- so the enabled-clients listing pages by client_id and deleting an application or a
-- connection drops its rows by cascade. Plus the index behind the `strategy` list filter.

CREATE TABLE connection_clients (
  connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
  PRIMARY KEY (connection_id, client_id)
);
CREATE INDEX connection_clients_client ON connection_clients (client_id);
CREATE INDEX connections_strategy ON connections (strategy, id);
