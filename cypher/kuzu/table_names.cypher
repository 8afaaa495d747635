// Names of the node and relationship tables in the database.
CALL show_tables() RETURN name;
