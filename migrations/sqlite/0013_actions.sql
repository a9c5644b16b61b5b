-- Auth0 Actions (issue 15). An action is the draft (`code`, `data`: supported_triggers,
-- dependencies, runtime, modules; `secrets`: sealed JSON [{name, value, updated_at}]); each
-- deploy freezes the draft as a numbered, immutable version and points `deployed_version` at
-- it. Logins run the deployed version of each action bound to the trigger, in `position`
-- order. Deleting an action deletes its versions; its bindings go first (force) or refuse it.
CREATE TABLE actions (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  trigger_id TEXT NOT NULL,
  code TEXT NOT NULL,
  data TEXT NOT NULL,
  secrets TEXT NOT NULL,
  deployed_version BIGINT,
  all_changes_deployed BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE action_versions (
  id TEXT PRIMARY KEY,
  action_id TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
  number BIGINT NOT NULL,
  code TEXT NOT NULL,
  data TEXT NOT NULL,
  secrets TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (action_id, number)
);

CREATE TABLE action_bindings (
  id TEXT PRIMARY KEY,
  trigger_id TEXT NOT NULL,
  position BIGINT NOT NULL,
  action_id TEXT NOT NULL REFERENCES actions (id),
  display_name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (trigger_id, position)
);
CREATE INDEX action_bindings_action ON action_bindings (action_id);
