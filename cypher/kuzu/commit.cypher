// Transaction control for multi-statement replacements.
COMMIT;
