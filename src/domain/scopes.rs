//! Management API scopes. Each endpoint names its requirement as a marker type implementing
//! [`Required`]; the HTTP extractor `Mgmt<R>` checks it, so the scope an endpoint needs is
//! visible in the handler's signature. A requirement is "any of" its scopes, as in Auth0.

/// A scope requirement: the token must carry at least one of `ANY_OF`.
pub trait Required: Send + Sync + 'static {
    const ANY_OF: &'static [&'static str];
}

macro_rules! required {
    ($($name:ident => [$($scope:literal),+ $(,)?];)+) => {
        $(
            #[derive(Debug)]
            pub struct $name;
            impl Required for $name {
                const ANY_OF: &'static [&'static str] = &[$($scope),+];
            }
        )+
    };
}

required! {
    ReadClients => ["read:clients"];
    CreateClients => ["create:clients"];
    UpdateClients => ["update:clients"];
    DeleteClients => ["delete:clients"];
    UpdateClientKeys => ["update:client_keys"];
    ReadClientGrants => ["read:client_grants"];
    CreateClientGrants => ["create:client_grants"];
    UpdateClientGrants => ["update:client_grants"];
    DeleteClientGrants => ["delete:client_grants"];
    ReadConnections => ["read:connections"];
    CreateConnections => ["create:connections"];
    UpdateConnections => ["update:connections"];
    DeleteConnections => ["delete:connections"];
    ReadActions => ["read:actions"];
    CreateActions => ["create:actions"];
    UpdateActions => ["update:actions"];
    DeleteActions => ["delete:actions"];
    DeleteUsers => ["delete:users"];
    DeleteSessions => ["delete:sessions"];
    ReadResourceServers => ["read:resource_servers"];
    CreateResourceServers => ["create:resource_servers"];
    UpdateResourceServers => ["update:resource_servers"];
    DeleteResourceServers => ["delete:resource_servers"];
    ReadTenantSettings => ["read:tenant_settings"];
    UpdateTenantSettings => ["update:tenant_settings"];
    ReadSigningKeys => ["read:signing_keys"];
    CreateSigningKeys => ["create:signing_keys"];
    UpdateSigningKeys => ["update:signing_keys"];
    ReadLogs => ["read:logs"];
    ReadLogsUsers => ["read:logs", "read:logs_users"];
    ReadUsers => ["read:users"];
    CreateUsers => ["create:users"];
    UpdateUsers => ["update:users", "update:users_app_metadata"];
    UpdateUserBlocks => ["update:users"];
    CreateUserTickets => ["create:user_tickets"];
    ReadPhoneProviders => ["read:phone_providers"];
    CreatePhoneProviders => ["create:phone_providers"];
    UpdatePhoneProviders => ["update:phone_providers"];
    DeletePhoneProviders => ["delete:phone_providers"];
    ReadGuardianFactors => ["read:guardian_factors"];
    UpdateGuardianFactors => ["update:guardian_factors"];
    ReadMfaPolicies => ["read:mfa_policies"];
    UpdateMfaPolicies => ["update:mfa_policies"];
    ReadPhoneTemplates => ["read:phone_templates"];
    ReadPhoneLookups => ["read:phone_lookups"];
    CreatePhoneTemplates => ["create:phone_templates"];
    UpdatePhoneTemplates => ["update:phone_templates"];
    DeletePhoneTemplates => ["delete:phone_templates"];
    RegenerateRecoveryCode => ["update:users"];
    ReadAuthenticationMethods => ["read:authentication_methods"];
    CreateAuthenticationMethods => ["create:authentication_methods"];
    UpdateAuthenticationMethods => ["update:authentication_methods"];
    DeleteAuthenticationMethods => ["delete:authentication_methods"];
    ReadGuardianEnrollments => ["read:guardian_enrollments"];
    DeleteGuardianEnrollments => ["delete:guardian_enrollments"];
    CreateGuardianEnrollmentTickets => ["create:guardian_enrollment_tickets"];
    ReadRoles => ["read:roles"];
    CreateRoles => ["create:roles"];
    UpdateRoles => ["update:roles"];
    DeleteRoles => ["delete:roles"];
    ReadRoleMembers => ["read:role_members", "read:users"];
    CreateRoleMembers => ["create:role_members", "update:users"];
    DeleteRoleMembers => ["delete:role_members", "update:users"];
    ReadUserPermissions => ["read:users"];
    UpdateUserPermissions => ["update:users"];
}

/// `read:client_keys` lets a caller see client secrets in client responses.
pub const READ_CLIENT_KEYS: &str = "read:client_keys";

/// Every scope of the Management API resource server; the bootstrap admin application is
/// granted all of them. Includes scopes of endpoints that later issues add, so a tenant
/// bootstrapped today can call them without re-granting.
pub const MANAGEMENT_SCOPES: &[&str] = &[
    "read:client_grants",
    "create:client_grants",
    "delete:client_grants",
    "update:client_grants",
    "read:users",
    "update:users",
    "delete:users",
    "read:sessions",
    "delete:sessions",
    "create:users",
    "read:users_app_metadata",
    "update:users_app_metadata",
    "delete:users_app_metadata",
    "create:users_app_metadata",
    "read:user_custom_blocks",
    "create:user_tickets",
    "blocked_users",
    "read:clients",
    "update:clients",
    "delete:clients",
    "create:clients",
    "read:client_keys",
    "update:client_keys",
    "delete:client_keys",
    "create:client_keys",
    "read:client_credentials",
    "update:client_credentials",
    "delete:client_credentials",
    "create:client_credentials",
    "read:connections",
    "update:connections",
    "delete:connections",
    "create:connections",
    "read:connections_options",
    "update:connections_options",
    "read:resource_servers",
    "update:resource_servers",
    "delete:resource_servers",
    "create:resource_servers",
    "read:device_credentials",
    "update:device_credentials",
    "delete:device_credentials",
    "create:device_credentials",
    "read:rules",
    "update:rules",
    "delete:rules",
    "create:rules",
    "read:email_provider",
    "update:email_provider",
    "delete:email_provider",
    "create:email_provider",
    "read:stats",
    "read:tenant_settings",
    "update:tenant_settings",
    "read:logs",
    "read:logs_users",
    "read:shields",
    "create:shields",
    "update:shields",
    "delete:shields",
    "read:anomaly_blocks",
    "delete:anomaly_blocks",
    "update:triggers",
    "read:triggers",
    "read:grants",
    "delete:grants",
    "read:guardian_factors",
    "update:guardian_factors",
    "read:guardian_enrollments",
    "delete:guardian_enrollments",
    "create:guardian_enrollment_tickets",
    "read:user_idp_tokens",
    "create:passwords_checking_job",
    "delete:passwords_checking_job",
    "read:custom_domains",
    "delete:custom_domains",
    "create:custom_domains",
    "update:custom_domains",
    "read:email_templates",
    "create:email_templates",
    "update:email_templates",
    "read:mfa_policies",
    "update:mfa_policies",
    "read:roles",
    "create:roles",
    "delete:roles",
    "update:roles",
    "read:prompts",
    "update:prompts",
    "read:branding",
    "update:branding",
    "delete:branding",
    "read:log_streams",
    "create:log_streams",
    "delete:log_streams",
    "update:log_streams",
    "create:signing_keys",
    "read:signing_keys",
    "update:signing_keys",
    "read:limits",
    "update:limits",
    "create:role_members",
    "read:role_members",
    "delete:role_members",
    "read:entitlements",
    "read:attack_protection",
    "update:attack_protection",
    "read:organizations",
    "update:organizations",
    "create:organizations",
    "delete:organizations",
    "read:actions",
    "update:actions",
    "delete:actions",
    "create:actions",
    "read:phone_providers",
    "create:phone_providers",
    "update:phone_providers",
    "delete:phone_providers",
    "read:phone_templates",
    "create:phone_templates",
    "update:phone_templates",
    "delete:phone_templates",
    "read:authentication_methods",
    "update:authentication_methods",
    "delete:authentication_methods",
    "create:authentication_methods",
    "read:phone_lookups",
];

/// Splits a space-separated OAuth scope string, dropping empties and duplicates, keeping order.
pub fn split(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split_ascii_whitespace() {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// Auth0's "current user" scopes: the only Management API scopes a user grant (password,
/// password-realm, MFA, passwordless, refresh) can carry. No Management endpoint here accepts
/// them, and the `Mgmt<R>` extractor refuses every token not issued by client credentials, so
/// a user's password can never buy a Management API token (issue 12, C1).
pub const CURRENT_USER_SCOPES: &[&str] = &[
    "read:current_user",
    "update:current_user_identities",
    "create:current_user_metadata",
    "update:current_user_metadata",
    "delete:current_user_metadata",
    "create:current_user_device_credentials",
    "delete:current_user_device_credentials",
];

/// The API scopes a *user* grant may reach for an API: every scope the API defines (Auth0
/// without RBAC), except for the Management API, where only [`CURRENT_USER_SCOPES`] are
/// reachable whatever the resource server lists. This is the one place user-grant scopes are
/// decided; handlers never see a user token with a Management scope.
pub fn user_grantable(is_management_api: bool, api_scopes: &[String]) -> Vec<String> {
    if is_management_api {
        CURRENT_USER_SCOPES.iter().map(|s| s.to_string()).collect()
    } else {
        api_scopes.to_vec()
    }
}

/// The scopes a client-credentials token gets: the grant's scopes, narrowed to the requested
/// ones when the request names any (Auth0 drops requested scopes the grant lacks).
pub fn narrow(granted: &[String], requested: Option<&str>) -> Vec<String> {
    match requested.map(split) {
        Some(req) if !req.is_empty() => granted
            .iter()
            .filter(|g| req.contains(g))
            .cloned()
            .collect(),
        _ => granted.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_is_grant_intersect_request() {
        let g = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(narrow(&g, None), g);
        assert_eq!(narrow(&g, Some("  ")), g);
        assert_eq!(narrow(&g, Some("c a z")), vec!["a", "c"]);
        assert!(narrow(&g, Some("z")).is_empty());
    }

    #[test]
    fn user_grants_never_reach_management_scopes() {
        let all: Vec<String> = MANAGEMENT_SCOPES.iter().map(|s| s.to_string()).collect();
        let reachable = user_grantable(true, &all);
        for s in &reachable {
            assert!(CURRENT_USER_SCOPES.contains(&s.as_str()));
        }
        // no endpoint requirement is satisfiable by a current-user scope
        assert!(
            !reachable
                .iter()
                .any(|s| s == "read:clients" || s == "read:users")
        );
        assert_eq!(user_grantable(false, &all), all);
    }

    #[test]
    fn management_scopes_are_unique() {
        let mut v = MANAGEMENT_SCOPES.to_vec();
        v.sort();
        v.dedup();
        assert_eq!(v.len(), MANAGEMENT_SCOPES.len());
    }
}
