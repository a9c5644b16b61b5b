-- Roles and permissions (issue 17, Auth0 RBAC). A permission is a pair (API identifier,
-- scope name) the API defines; roles bundle permissions; users hold roles and direct
-- permissions. No foreign keys to users or APIs: deleting a user, a role, an API or one of its
-- scopes removes what depended on it in the same transaction (service code), on both backends.
CREATE TABLE roles (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE role_permissions (
  role_id TEXT NOT NULL,
  resource_server_identifier TEXT NOT NULL,
  permission_name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (role_id, resource_server_identifier, permission_name)
);
CREATE INDEX role_permissions_api ON role_permissions (resource_server_identifier, permission_name);

CREATE TABLE user_roles (
  user_id TEXT NOT NULL,
  role_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles (role_id, user_id);

CREATE TABLE user_permissions (
  user_id TEXT NOT NULL,
  resource_server_identifier TEXT NOT NULL,
  permission_name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, resource_server_identifier, permission_name)
);
CREATE INDEX user_permissions_api ON user_permissions (resource_server_identifier, permission_name);
