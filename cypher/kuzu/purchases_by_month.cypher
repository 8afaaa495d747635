// Seasonality: purchases and revenue per calendar month.
MATCH (:Customer)-[p:PURCHASED]->(:Product)
RETURN date_part('year', p.t_date) AS year, date_part('month', p.t_date) AS month,
       count(*) AS purchases, sum(p.price) AS revenue
ORDER BY year, month;
