-- Every grid cell with its municipality's AGS (char(8), mapped to an index
-- by the client), streamed in PostgreSQL's binary COPY format. A plain
-- table COPY, no query and no cast: the server's per-row work is the
-- floor of the cold load (a `SELECT … ags::int` cost ~25 % more CPU).
COPY grid_cell (n, e, ags) TO STDOUT (FORMAT binary)
