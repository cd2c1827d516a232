-- copy_grid_cells.sql for one state (issue 24): every cell in the box of
-- its municipalities and the context margin around them (grid_scope.sql),
-- whichever state it belongs to (the loader marks the others' as context).
COPY (SELECT n, e, ags FROM grid_cell WHERE n BETWEEN {n0} AND {n1} AND e BETWEEN {e0} AND {e1}) TO STDOUT (FORMAT binary)
