-- The call-centre lookup reads only indexes for the number's entries and the accounts'
-- confirmed factors: phone_index_number covers every column the lookup selects, in the order
-- it returns them (user, then kind: no sort step), and authenticators_user_factors covers the
-- factor list. Each saves a table read per entry (measured on the lookup bench).
DROP INDEX phone_index_number;
CREATE INDEX phone_index_number
  ON phone_index (number, user_id, kind, confirmed, created_at, last_used_at);
CREATE INDEX authenticators_user_factors
  ON authenticators (user_id, confirmed, type, preferred_method);
