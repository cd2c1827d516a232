-- Statistics for the reported coverage of a date, so ref_grid's join is
-- planned on its real size.
ANALYZE ref_reported
