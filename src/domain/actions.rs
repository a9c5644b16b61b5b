//! What Actions decide, in domain terms, for the rules that read it: a post-login Action's
//! say on MFA (`service::mfa::policy` combines it with the tenant policy).

/// What the post-login Actions of this login asked about MFA; the last ask wins, as Auth0's
/// commands do.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ActionMfa {
    /// No Action spoke: the tenant policy decides.
    #[default]
    Silent,
    /// `api.multifactor.enable('none')`: no MFA for this login, whatever the policy.
    Bypass,
    /// `api.multifactor.enable(provider)`: `any`, `guardian` (phone) or
    /// `google-authenticator` (otp); others (duo) read as `any` of what is enabled.
    Enable(String),
    /// `challengeWith` / `challengeWithAny`: these factor types (`phone`, `otp`,
    /// `recovery-code`, …).
    Challenge(Vec<String>),
    /// `enrollWith` / `enrollWithAny`.
    Enroll(Vec<String>),
}
