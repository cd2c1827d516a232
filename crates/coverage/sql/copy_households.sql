COPY (SELECT n, e, households FROM household_cell) TO STDOUT (FORMAT binary)
