-- What ran for one flow (issue 15): a login's post-login Actions, an M2M grant's
-- credentials-exchange ones, a signup's registration ones. `results` is the JSON list
-- [{action_name, error, started_at, ended_at}]; kept ten days (Auth0's), swept by age.
CREATE TABLE action_executions (
  id TEXT PRIMARY KEY,
  trigger_id TEXT NOT NULL,
  status TEXT NOT NULL,
  results TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX action_executions_created ON action_executions (created_at);
