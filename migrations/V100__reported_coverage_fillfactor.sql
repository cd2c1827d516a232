-- Coverage releases (issue 16), measured at NRW scale: a quarterly release
-- changes 0.3–17 % of the 3.4 M cells, and the ingest writes those cells
-- over reported_coverage (the latest release) with one joined UPDATE. The
-- table is loaded by COPY into full pages, so every such update was a
-- non-HOT one: a new heap tuple on another page plus a new primary-key
-- entry per cell. With room left on each page (as V70 did for the
-- versions) the update stays on its page and the key is not touched. The
-- setting is carried over when the ingest swaps in a rewritten table
-- (crates/ingest/src/pgcopy.rs `Replace`) and applies from the next load.
ALTER TABLE reported_coverage SET (fillfactor = 90);
