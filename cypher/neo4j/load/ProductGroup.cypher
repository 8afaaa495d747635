// One batch of ProductGroup nodes: $rows = [{name}].
UNWIND $rows AS row
MERGE (n:`ProductGroup` {name: row.name});
