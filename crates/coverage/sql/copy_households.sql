-- Households per cell; a plain table COPY (cheaper on the server than
-- COPY of a query).
COPY household_cell (n, e, households) TO STDOUT (FORMAT binary)
