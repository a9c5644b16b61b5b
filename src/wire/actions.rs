//! `/api/v2/actions/*` bodies and answers, in Auth0's shapes: an action (the draft), a
//! version (a deployed snapshot), the trigger list, bindings and their PATCH body, and the
//! test run. Secrets are accepted with their values and shown as `{name, updated_at}` only.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `supported_triggers[]`: which trigger (and its version) an action is written for. Other
/// properties a GET shows (`status`, `runtimes`, …) are accepted and ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRef {
    pub id: String,
    pub version: String,
}

/// `dependencies[]`: an npm package the action requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_url: Option<String>,
}

/// `secrets[]` as sent: a name and its value (a value left out keeps the stored one).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretIn {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default, rename = "updated_at")]
    pub _updated_at: Option<serde::de::IgnoredAny>,
}

/// `POST /api/v2/actions/actions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionCreate {
    pub name: String,
    pub supported_triggers: Vec<TriggerRef>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub dependencies: Option<Vec<Dependency>>,
    #[serde(default)]
    pub runtime: Option<String>,
    #[serde(default)]
    pub secrets: Option<Vec<SecretIn>>,
    #[serde(default)]
    pub modules: Option<Vec<Value>>,
    /// Deploy right after creating (Auth0's `deploy: true`).
    #[serde(default)]
    pub deploy: Option<bool>,
}

/// `PATCH /api/v2/actions/actions/{id}`: what is given replaces the draft's property.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub supported_triggers: Option<Vec<TriggerRef>>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub dependencies: Option<Vec<Dependency>>,
    #[serde(default)]
    pub runtime: Option<String>,
    #[serde(default)]
    pub secrets: Option<Vec<SecretIn>>,
    #[serde(default)]
    pub modules: Option<Vec<Value>>,
}

/// A secret as shown: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretShown {
    pub name: String,
    pub updated_at: String,
}

/// A secret as kept (sealed at rest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretKept {
    pub name: String,
    pub value: String,
    pub updated_at: String,
}

/// What `data` keeps of an action: the properties callsign stores as given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionData {
    pub supported_triggers: Vec<TriggerRef>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    pub runtime: String,
    #[serde(default)]
    pub modules: Vec<Value>,
}

/// The action a version points back to (`version.action`).
#[derive(Debug, Clone, Serialize)]
pub struct ActionSummary {
    pub id: String,
    pub name: String,
    pub supported_triggers: Vec<TriggerRef>,
    pub all_changes_deployed: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A version (`POST …/deploy`, `GET …/versions[/{id}]`).
#[derive(Debug, Clone, Serialize)]
pub struct Version {
    pub id: String,
    pub action_id: String,
    pub code: String,
    pub dependencies: Vec<Dependency>,
    pub deployed: bool,
    pub number: i64,
    pub secrets: Vec<SecretShown>,
    pub status: &'static str,
    pub runtime: String,
    pub supported_triggers: Vec<TriggerRef>,
    pub action: ActionSummary,
    pub created_at: String,
    pub updated_at: String,
    pub built_at: String,
}

/// An action (the draft), as every action endpoint answers it.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub id: String,
    pub name: String,
    pub supported_triggers: Vec<TriggerRef>,
    pub code: String,
    pub dependencies: Vec<Dependency>,
    pub runtime: String,
    pub secrets: Vec<SecretShown>,
    pub modules: Vec<Value>,
    pub status: &'static str,
    pub all_changes_deployed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_version: Option<Version>,
    pub built_at: String,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /actions/actions`.
#[derive(Debug, Clone, Serialize)]
pub struct ActionList {
    pub actions: Vec<Action>,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
}

/// One trigger of `GET /actions/triggers`.
#[derive(Debug, Clone, Serialize)]
pub struct Trigger {
    pub id: &'static str,
    pub version: &'static str,
    pub status: &'static str,
    pub runtimes: Vec<&'static str>,
    pub default_runtime: &'static str,
    pub compatible_triggers: Vec<Value>,
    pub binding_policy: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct TriggerList {
    pub triggers: Vec<Trigger>,
}

/// A binding as shown.
#[derive(Debug, Clone, Serialize)]
pub struct Binding {
    pub id: String,
    pub trigger_id: String,
    pub display_name: String,
    pub action: Action,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BindingList {
    pub bindings: Vec<Binding>,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BindingsReplaced {
    pub bindings: Vec<Binding>,
}

/// How a binding names its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefType {
    ActionId,
    ActionName,
    ActionVersionId,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingRef {
    #[serde(rename = "type")]
    pub kind: RefType,
    pub value: String,
}

/// One entry of `PATCH /actions/triggers/{id}/bindings`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingIn {
    #[serde(rename = "ref")]
    pub reference: BindingRef,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Per-binding secrets (Auth0's marketplace integrations); refused when given.
    #[serde(default)]
    pub secrets: Option<Vec<Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingsPatch {
    pub bindings: Vec<BindingIn>,
}

/// `POST /actions/actions/{id}/test`: the event to run the draft with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    pub payload: Map<String, Value>,
}

/// One `api` call a test run made.
#[derive(Debug, Clone, Serialize)]
pub struct TestCommand {
    pub name: String,
    pub args: Vec<Value>,
}

/// What a test run did (the shape inside `payload` is callsign's: Auth0's is undocumented).
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub commands: Vec<TestCommand>,
    pub logs: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TestError>,
    pub stats: TestStats,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestError {
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestStats {
    pub total_execution_duration_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestAnswer {
    pub payload: TestResult,
}

/// The answer of `POST …/{id}/callsign-translate-phone-message` (a callsign extension): the new
/// custom-phone-provider action (not deployed) and what the translation could not carry.
#[derive(Debug, Clone, Serialize)]
pub struct Translated {
    pub action: Action,
    pub unmapped: Vec<String>,
}

/// One action's part of an execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionResult {
    pub action_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ExecutionError>,
    pub started_at: String,
    pub ended_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionError {
    pub id: String,
    pub msg: String,
}

/// `GET /actions/executions/{id}`: what ran for one flow.
#[derive(Debug, Clone, Serialize)]
pub struct Execution {
    pub id: String,
    pub trigger_id: String,
    pub status: String,
    pub results: Vec<ExecutionResult>,
    pub created_at: String,
    pub updated_at: String,
}
