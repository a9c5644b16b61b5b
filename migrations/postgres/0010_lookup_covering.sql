-- The call-centre lookup reads only indexes for the number's entries and the accounts'
-- confirmed factors (index-only scans): phone_index_number carries every column the lookup
-- selects, in the order it returns them, and authenticators_user_factors the factor list.
DROP INDEX phone_index_number;
CREATE INDEX phone_index_number
  ON phone_index (number, user_id COLLATE "C", kind) INCLUDE (confirmed, created_at, last_used_at);
CREATE INDEX authenticators_user_factors
  ON authenticators (user_id, confirmed) INCLUDE (type, preferred_method);
