// Waits until every index (and constraint-backing index) is online, up to $timeout_s seconds.
CALL db.awaitIndexes($timeout_s);
