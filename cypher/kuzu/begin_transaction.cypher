// Transaction control for multi-statement replacements.
BEGIN TRANSACTION;
