// Drop and recreate the age-group tables (age_groups replaces them as a whole).
DROP TABLE IF EXISTS IS_AGE_GROUP;
DROP TABLE IF EXISTS AgeGroup;
CREATE NODE TABLE `AgeGroup`(name STRING, lower INT16, upper INT16, PRIMARY KEY (name));
CREATE REL TABLE `IS_AGE_GROUP`(FROM `Customer` TO `AgeGroup`);
