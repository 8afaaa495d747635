// Transaction control for multi-statement replacements.
ROLLBACK;
