-- Planner reference, step 5: every candidate-cell pair within reach
-- (ST_DWithin on the cell centre, GiST on the open cells).
CREATE INDEX ON plan_open USING gist (pt);
ANALYZE plan_open;
ANALYZE plan_cand;
INSERT INTO plan_pair SELECT c.idx, o.cell, o.hh FROM plan_cand c JOIN plan_open o ON ST_DWithin(c.geom, o.pt, c.radius_m);
CREATE INDEX ON plan_pair (cell);
CREATE INDEX ON plan_pair (idx);
ANALYZE plan_pair
