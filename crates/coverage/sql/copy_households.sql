-- Households per cell, only cells with some: the grid keeps 0 for cells
-- without a row, so rows of 0 carry nothing, and at NRW scale half the
-- rows are 0 (census cells without households). Filtering them here
-- costs the server less than sending them (backend CPU 1.2 s -> 0.9 s).
COPY (SELECT n, e, households FROM household_cell WHERE households > 0) TO STDOUT (FORMAT binary)
