"""The product/customer/purchase graph: model, Arrow tables for it, age buckets, EDA, and the stores that hold it."""
