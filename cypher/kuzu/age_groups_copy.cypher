// Bulk load of the age-group tables from Arrow parameters.
COPY `AgeGroup` FROM $agegroup_rows;
COPY `IS_AGE_GROUP` FROM $is_age_group_rows;
