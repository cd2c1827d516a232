-- copy_households.sql for one state (issue 24): only the box of its cells.
COPY (
    SELECT n, e, households FROM household_cell
    WHERE households > 0 AND n BETWEEN {n0} AND {n1} AND e BETWEEN {e0} AND {e1}
) TO STDOUT (FORMAT binary)
