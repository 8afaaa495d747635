// Seasonality: purchases and revenue per calendar month.
MATCH (:Customer)-[p:PURCHASED]->(:Product)
RETURN p.t_date.year AS year, p.t_date.month AS month, count(*) AS purchases, sum(p.price) AS revenue
ORDER BY year, month;
