-- Every grid cell with its municipality's AGS as an integer (8 digits fit
-- int4), streamed in PostgreSQL's binary COPY format.
COPY (SELECT n, e, ags::int FROM grid_cell) TO STDOUT (FORMAT binary)
