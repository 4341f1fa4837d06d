-- Cluster mode: which node holds each station's connection ('' on a single node or when none
-- does). The partial index serves the two questions a cluster asks of it: the stations of one
-- node (a node that died or restarted) and the nodes that hold any connection.

ALTER TABLE stations ADD COLUMN node TEXT NOT NULL DEFAULT '';

CREATE INDEX stations_connected_node ON stations (node) WHERE connected = 1;
