// One batch of Customer nodes: $rows = [{id, idx, fn, active, club_member_status, fashion_news_frequency, age, postal_code}].
UNWIND $rows AS row
MERGE (n:`Customer` {id: row.id})
SET n.idx = row.idx,
    n.fn = row.fn,
    n.active = row.active,
    n.club_member_status = row.club_member_status,
    n.fashion_news_frequency = row.fashion_news_frequency,
    n.age = row.age,
    n.postal_code = row.postal_code;
