//! `/api/v2/actions/*`: actions (drafts), deploys (numbered immutable versions), triggers and
//! bindings. Saving code runs a syntax check in the sandbox (a parse, nothing executed) and
//! refuses what does not parse with the line and column; secrets are sealed with the secret
//! box and never shown again; dependencies must name a package the sandbox has built in
//! (`sandbox::NPM_MODULES`, any version). A binding names an action that has been deployed and a trigger callsign runs.

use super::{TRIGGERS, handler_of, limits, ops_of};
use crate::clock::iso;
use crate::crypto;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::sandbox::{FailureKind, Invocation};
use crate::store::{
    self, actions::ActionBindingRow, actions::ActionRow, actions::ActionVersionRow,
};
use crate::wire::actions::{
    Action, ActionCreate, ActionData, ActionList, ActionPatch, ActionSummary, Binding, BindingList,
    BindingsPatch, Execution, RefType, SecretIn, SecretKept, SecretShown, TestAnswer, TestCommand,
    TestError, TestResult, TestStats, Translated, Trigger, TriggerList, TriggerRef, Version,
};
use crate::wire::{self, to_object};
use serde_json::{Map, Value};

const RUNTIMES: &[&str] = &["node12", "node16", "node18", "node18-actions", "node22"];
const DEFAULT_RUNTIME: &str = "node22";
const MAX_NAME: usize = 255;
const MAX_SECRETS: usize = 50;
/// Most bindings on one trigger.
const MAX_BINDINGS: usize = 20;

fn payload(msg: impl Into<String>) -> Error {
    Error::invalid_body(format!("Payload validation error: {}", msg.into()))
}

fn bad_request(msg: impl Into<String>) -> Error {
    Error::Invalid {
        message: msg.into(),
        error_code: "invalid_body",
    }
}

pub fn not_found() -> Error {
    Error::not_found("The action does not exist.", Some("inexistent_action"))
}

fn version_not_found() -> Error {
    Error::not_found(
        "The action version does not exist.",
        Some("inexistent_action_version"),
    )
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME {
        return Err(payload(format!(
            "'String length must be between 1 and {MAX_NAME}' on property name."
        )));
    }
    Ok(())
}

/// One supported trigger, known and current.
fn check_triggers(t: &[TriggerRef]) -> Result<String> {
    let [one] = t else {
        return Err(payload(
            "'supported_triggers must name exactly one trigger' on property supported_triggers.",
        ));
    };
    match TRIGGERS.iter().find(|(id, _, _)| *id == one.id) {
        None => Err(bad_request(format!(
            "Unknown trigger '{}'. Known triggers: {}.",
            one.id,
            TRIGGERS.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")
        ))),
        Some((_, version, _)) if *version != one.version => Err(bad_request(format!(
            "Trigger '{}' version '{}' is not supported; use '{}'.",
            one.id, one.version, version
        ))),
        Some(_) => Ok(one.id.clone()),
    }
}

fn check_runtime(r: &str) -> Result<()> {
    if RUNTIMES.contains(&r) {
        Ok(())
    } else {
        Err(payload(format!(
            "'No enum match for: \"{r}\"' on property runtime."
        )))
    }
}

/// Declared dependencies must be packages the sandbox has built in (any version: there is no
/// npm install; the built-in implementation answers whatever version is named).
fn check_dependencies(d: &[wire::actions::Dependency]) -> Result<()> {
    let unknown: Vec<String> = d
        .iter()
        .filter(|d| !crate::sandbox::NPM_MODULES.contains(&d.name.as_str()))
        .map(|d| format!("{}@{}", d.name, d.version))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(bad_request(format!(
        "Unsupported dependencies: {}. callsign runs Actions without npm: no modules can be \
         installed. Built in: {} (and Node's crypto, buffer and url).",
        unknown.join(", "),
        crate::sandbox::NPM_MODULES.join(", ")
    )))
}

/// The secrets after a write: given values replace, a name given without a value keeps its
/// stored value (refused when there is none), names left out are removed.
fn merge_secrets(ctx: &Ctx, given: &[SecretIn], kept: &[SecretKept]) -> Result<Vec<SecretKept>> {
    if given.len() > MAX_SECRETS {
        return Err(payload(format!(
            "'Array is too long ({}), maximum {MAX_SECRETS}' on property secrets.",
            given.len()
        )));
    }
    let now = iso(ctx.clock.now_ms());
    let mut out: Vec<SecretKept> = Vec::with_capacity(given.len());
    for s in given {
        if s.name.is_empty() || out.iter().any(|o| o.name == s.name) {
            return Err(payload(format!(
                "Secret names must be unique and not empty: '{}'.",
                s.name
            )));
        }
        let kept_one = kept.iter().find(|k| k.name == s.name);
        let (value, updated_at) = match (&s.value, kept_one) {
            (Some(v), _) => (v.clone(), now.clone()),
            (None, Some(k)) => (k.value.clone(), k.updated_at.clone()),
            (None, None) => {
                return Err(payload(format!(
                    "'Missing required property: value' on property secrets ({}).",
                    s.name
                )));
            }
        };
        out.push(SecretKept {
            name: s.name.clone(),
            value,
            updated_at,
        });
    }
    Ok(out)
}

fn seal_secrets(ctx: &Ctx, s: &[SecretKept]) -> Result<String> {
    Ok(ctx
        .secrets
        .seal(&serde_json::to_vec(s).map_err(Error::internal)?))
}

pub(crate) fn open_secrets(ctx: &Ctx, sealed: &str) -> Result<Vec<SecretKept>> {
    let clear = ctx.secrets.open_string(sealed).map_err(Error::internal)?;
    serde_json::from_str(&clear).map_err(Error::internal)
}

fn shown(s: &[SecretKept]) -> Vec<SecretShown> {
    s.iter()
        .map(|k| SecretShown {
            name: k.name.clone(),
            updated_at: k.updated_at.clone(),
        })
        .collect()
}

/// What `data` keeps, read back (a row this module wrote; unreadable reads as empty).
fn data_of(row: &ActionRow) -> ActionData {
    serde_json::from_value(Value::Object(row.data.clone())).unwrap_or_default()
}

fn version_data(v: &ActionVersionRow) -> ActionData {
    serde_json::from_value(Value::Object(v.data.clone())).unwrap_or_default()
}

/// Parses the code in the sandbox; a syntax error is refused with its position.
async fn syntax_check(ctx: &Ctx, code: &str) -> Result<()> {
    let lim = limits(ctx);
    if code.len() > lim.code_bytes {
        return Err(payload(format!(
            "'String is too long ({} chars), maximum {}' on property code.",
            code.len(),
            lim.code_bytes
        )));
    }
    let out = ctx
        .sandbox
        .run(&Invocation {
            code: code.to_string(),
            handler: String::new(),
            event: Value::Null,
            ops: vec![],
            limits: lim,
            allow_hosts: vec![],
            cache: vec![],
            now_ms: 0,
            redirect: None,
        })
        .await;
    match out.failure {
        None => Ok(()),
        Some(f) if f.kind == FailureKind::Syntax => Err(bad_request(format!(
            "The code does not compile: {}",
            f.message
        ))),
        Some(f) if matches!(f.kind, FailureKind::Unavailable | FailureKind::Crashed) => {
            Err(Error::internal(format!("sandbox: {}", f.message)))
        }
        Some(f) => Err(bad_request(format!(
            "The code does not compile: {}",
            f.message
        ))),
    }
}

pub async fn create(ctx: &Ctx, b: ActionCreate) -> Result<Action> {
    check_name(&b.name)?;
    let trigger = check_triggers(&b.supported_triggers)?;
    let runtime = b.runtime.unwrap_or_else(|| DEFAULT_RUNTIME.into());
    check_runtime(&runtime)?;
    let dependencies = b.dependencies.unwrap_or_default();
    check_dependencies(&dependencies)?;
    let code = b.code.unwrap_or_default();
    syntax_check(ctx, &code).await?;
    let secrets = merge_secrets(ctx, &b.secrets.unwrap_or_default(), &[])?;
    let now = ctx.clock.now_ms();
    let row = ActionRow {
        id: crypto::random_uuid(),
        name: b.name,
        trigger_id: trigger,
        code,
        data: to_object(&ActionData {
            supported_triggers: b.supported_triggers,
            dependencies,
            runtime,
            modules: b.modules.unwrap_or_default(),
        }),
        secrets_sealed: seal_secrets(ctx, &secrets)?,
        deployed_version: None,
        all_changes_deployed: false,
        created_at: now,
        updated_at: now,
    };
    let mut tx = ctx.db.begin().await?;
    store::actions::insert(&mut tx, &row)
        .await
        .map_err(name_conflict)?;
    let row = if b.deploy == Some(true) {
        deploy_tx(ctx, &mut tx, row, None).await?.0
    } else {
        row
    };
    tx.commit().await?;
    ctx.catalog.clear();
    render(ctx, &row).await
}

fn name_conflict(e: store::StoreError) -> Error {
    if e.is_conflict() {
        Error::conflict("An action with this name already exists.", "conflict")
    } else {
        e.into()
    }
}

pub async fn update(ctx: &Ctx, id: &str, p: ActionPatch) -> Result<Action> {
    let mut tx = ctx.db.begin().await?;
    let mut row = store::actions::get(&mut tx, id)
        .await?
        .ok_or_else(not_found)?;
    let mut data = data_of(&row);
    if let Some(n) = p.name {
        check_name(&n)?;
        row.name = n;
    }
    if let Some(t) = p.supported_triggers {
        let trigger = check_triggers(&t)?;
        if trigger != row.trigger_id && store::actions::binding_count(&mut tx, &row.id).await? > 0 {
            return Err(bad_request(
                "A bound action cannot change its trigger; unbind it first.",
            ));
        }
        row.trigger_id = trigger;
        data.supported_triggers = t;
    }
    if let Some(r) = p.runtime {
        check_runtime(&r)?;
        data.runtime = r;
    }
    if let Some(d) = p.dependencies {
        check_dependencies(&d)?;
        data.dependencies = d;
    }
    if let Some(m) = p.modules {
        data.modules = m;
    }
    if let Some(code) = p.code {
        syntax_check(ctx, &code).await?;
        row.code = code;
    }
    if let Some(s) = p.secrets {
        let kept = open_secrets(ctx, &row.secrets_sealed)?;
        row.secrets_sealed = seal_secrets(ctx, &merge_secrets(ctx, &s, &kept)?)?;
    }
    row.data = to_object(&data);
    row.all_changes_deployed = false;
    row.updated_at = ctx.clock.now_ms();
    store::actions::update(&mut tx, &row)
        .await
        .map_err(name_conflict)?;
    tx.commit().await?;
    render(ctx, &row).await
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<Action> {
    let row = store::actions::get(&ctx.db, id)
        .await?
        .ok_or_else(not_found)?;
    render(ctx, &row).await
}

/// `GET /actions/actions` with `triggerId`, `actionName`, `deployed`, `page`, `per_page`.
pub async fn list(
    ctx: &Ctx,
    trigger_id: Option<&str>,
    action_name: Option<&str>,
    deployed: Option<bool>,
    page: usize,
    per_page: usize,
) -> Result<ActionList> {
    let rows: Vec<ActionRow> = store::actions::list(&ctx.db)
        .await?
        .into_iter()
        .filter(|a| trigger_id.is_none_or(|t| a.trigger_id == t))
        .filter(|a| action_name.is_none_or(|n| a.name == n))
        .filter(|a| deployed.is_none_or(|d| a.deployed_version.is_some() == d))
        .collect();
    let total = rows.len();
    let mut actions = Vec::new();
    for r in rows
        .iter()
        .skip(page.saturating_mul(per_page))
        .take(per_page)
    {
        actions.push(render(ctx, r).await?);
    }
    Ok(ActionList {
        actions,
        total,
        page,
        per_page,
    })
}

/// `DELETE /actions/actions/{id}`: a bound action is refused unless `force`, which unbinds it.
pub async fn delete(ctx: &Ctx, id: &str, force: bool) -> Result<()> {
    let mut tx = ctx.db.begin().await?;
    store::actions::get(&mut tx, id)
        .await?
        .ok_or_else(not_found)?;
    if store::actions::binding_count(&mut tx, id).await? > 0 {
        if !force {
            return Err(bad_request(
                "The action is bound to a trigger; unbind it first or delete with force=true.",
            ));
        }
        store::actions::delete_bindings_of_action(&mut tx, id).await?;
        store::bump_epoch(&mut tx).await?;
    }
    store::actions::delete(&mut tx, id).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    Ok(())
}

/// Freezes `from` (the draft, or a version being rolled back to) as the next version and
/// deploys it.
async fn deploy_tx(
    ctx: &Ctx,
    tx: &mut store::Tx,
    mut row: ActionRow,
    from: Option<&ActionVersionRow>,
) -> Result<(ActionRow, ActionVersionRow)> {
    // A bound action's deployed version is what logins run: other nodes must reload it.
    store::bump_epoch(tx).await?;
    let number = store::actions::last_version_number(tx, &row.id).await? + 1;
    let now = ctx.clock.now_ms();
    let v = ActionVersionRow {
        id: crypto::random_uuid(),
        action_id: row.id.clone(),
        number,
        code: from.map_or_else(|| row.code.clone(), |f| f.code.clone()),
        data: from.map_or_else(|| row.data.clone(), |f| f.data.clone()),
        secrets_sealed: from
            .map_or_else(|| row.secrets_sealed.clone(), |f| f.secrets_sealed.clone()),
        created_at: now,
    };
    store::actions::insert_version(tx, &v).await?;
    row.deployed_version = Some(number);
    row.all_changes_deployed = from.is_none();
    row.updated_at = now;
    store::actions::update(tx, &row).await?;
    Ok((row, v))
}

/// `POST /actions/actions/{id}/deploy`.
pub async fn deploy(ctx: &Ctx, id: &str) -> Result<Version> {
    let mut tx = ctx.db.begin().await?;
    let row = store::actions::get(&mut tx, id)
        .await?
        .ok_or_else(not_found)?;
    let (row, v) = deploy_tx(ctx, &mut tx, row, None).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    render_version(ctx, &row, &v)
}

/// `POST /actions/actions/{id}/versions/{vid}/deploy`: a new version identical to `vid`.
pub async fn deploy_version(ctx: &Ctx, id: &str, vid: &str) -> Result<Version> {
    let mut tx = ctx.db.begin().await?;
    let row = store::actions::get(&mut tx, id)
        .await?
        .ok_or_else(not_found)?;
    let old = store::actions::version(&mut tx, id, vid)
        .await?
        .ok_or_else(version_not_found)?;
    let (row, v) = deploy_tx(ctx, &mut tx, row, Some(&old)).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    render_version(ctx, &row, &v)
}

pub async fn versions(ctx: &Ctx, id: &str) -> Result<Vec<Version>> {
    let row = store::actions::get(&ctx.db, id)
        .await?
        .ok_or_else(not_found)?;
    store::actions::versions(&ctx.db, id)
        .await?
        .iter()
        .map(|v| render_version(ctx, &row, v))
        .collect()
}

pub async fn version(ctx: &Ctx, id: &str, vid: &str) -> Result<Version> {
    let row = store::actions::get(&ctx.db, id)
        .await?
        .ok_or_else(not_found)?;
    let v = store::actions::version(&ctx.db, id, vid)
        .await?
        .ok_or_else(version_not_found)?;
    render_version(ctx, &row, &v)
}

/// `POST /actions/actions/{id}/test`: runs the draft with `payload` as the event (plus the
/// draft's secrets) and says what it did. Nothing it asks for is applied.
pub async fn test(ctx: &Ctx, id: &str, payload: Map<String, Value>) -> Result<TestAnswer> {
    let row = store::actions::get(&ctx.db, id)
        .await?
        .ok_or_else(not_found)?;
    let mut event = payload;
    let secrets: Map<String, Value> = open_secrets(ctx, &row.secrets_sealed)?
        .into_iter()
        .map(|s| (s.name, Value::String(s.value)))
        .collect();
    event.insert("secrets".into(), Value::Object(secrets));
    let out = ctx
        .sandbox
        .run(&Invocation {
            code: row.code.clone(),
            handler: handler_of(&row.trigger_id).into(),
            event: Value::Object(event),
            ops: ops_of(&row.trigger_id)
                .iter()
                .map(|s| s.to_string())
                .collect(),
            limits: limits(ctx),
            allow_hosts: ctx.config.sandbox.allow_hosts.clone(),
            cache: vec![],
            now_ms: ctx.clock.now_ms(),
            redirect: None,
        })
        .await;
    Ok(TestAnswer {
        payload: TestResult {
            commands: out
                .recorded
                .into_iter()
                .map(|r| TestCommand {
                    name: r.op,
                    args: r.args,
                })
                .collect(),
            logs: out.logs,
            error: out.failure.map(|f| TestError {
                kind: serde_json::to_value(f.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                message: f.message,
            }),
            stats: TestStats {
                total_execution_duration_ms: out.elapsed_us / 1000,
            },
        },
    })
}

pub fn triggers() -> TriggerList {
    TriggerList {
        triggers: TRIGGERS
            .iter()
            .map(|(id, version, _)| Trigger {
                id,
                version,
                status: "CURRENT",
                runtimes: RUNTIMES.to_vec(),
                default_runtime: DEFAULT_RUNTIME,
                compatible_triggers: vec![],
                binding_policy: "trigger-bound",
            })
            .collect(),
    }
}

fn check_trigger_id(trigger_id: &str) -> Result<()> {
    if TRIGGERS.iter().any(|(id, _, _)| *id == trigger_id) {
        Ok(())
    } else {
        Err(Error::not_found(
            format!("The trigger '{trigger_id}' does not exist."),
            Some("inexistent_trigger"),
        ))
    }
}

pub async fn bindings(
    ctx: &Ctx,
    trigger_id: &str,
    page: usize,
    per_page: usize,
) -> Result<BindingList> {
    check_trigger_id(trigger_id)?;
    let rows = store::actions::bindings(&ctx.db, trigger_id).await?;
    let total = rows.len();
    let mut out = Vec::new();
    for b in rows
        .iter()
        .skip(page.saturating_mul(per_page))
        .take(per_page)
    {
        out.push(render_binding(ctx, b).await?);
    }
    Ok(BindingList {
        bindings: out,
        total,
        page,
        per_page,
    })
}

/// `PATCH /actions/triggers/{id}/bindings`: replaces the trigger's ordered list. Each ref must
/// name a deployed action written for this trigger; `[]` clears.
pub async fn replace_bindings(
    ctx: &Ctx,
    trigger_id: &str,
    b: BindingsPatch,
) -> Result<Vec<Binding>> {
    check_trigger_id(trigger_id)?;
    if !TRIGGERS
        .iter()
        .any(|(id, _, runs)| *id == trigger_id && *runs)
        && !b.bindings.is_empty()
    {
        return Err(bad_request(format!(
            "callsign does not run the '{trigger_id}' trigger yet, so it cannot be bound \
             (it runs: {}).",
            TRIGGERS
                .iter()
                .filter(|t| t.2)
                .map(|t| t.0)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if (trigger_id == super::phone::TRIGGER || trigger_id == super::phone::LEGACY_TRIGGER)
        && b.bindings.len() > 1
    {
        return Err(bad_request(format!(
            "At most one action can be bound to the {trigger_id} trigger."
        )));
    }
    if b.bindings.len() > MAX_BINDINGS {
        return Err(payload(format!(
            "'Array is too long ({}), maximum {MAX_BINDINGS}' on property bindings.",
            b.bindings.len()
        )));
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    store::bump_epoch(&mut tx).await?;
    let mut rows = Vec::with_capacity(b.bindings.len());
    for (i, item) in b.bindings.iter().enumerate() {
        if item.secrets.as_ref().is_some_and(|s| !s.is_empty()) {
            return Err(bad_request(
                "Binding secrets are not supported: give the action its own secrets.",
            ));
        }
        let action = match item.reference.kind {
            RefType::ActionId => store::actions::get(&mut tx, &item.reference.value).await?,
            RefType::ActionName => store::actions::by_name(&mut tx, &item.reference.value).await?,
            RefType::ActionVersionId => None,
        }
        .ok_or_else(|| {
            bad_request(format!(
                "Binding {i}: no action matches {} '{}'{}.",
                match item.reference.kind {
                    RefType::ActionId => "id",
                    RefType::ActionName => "name",
                    RefType::ActionVersionId => "version id",
                },
                item.reference.value,
                if item.reference.kind == RefType::ActionVersionId {
                    " (bind by action_id or action_name: the deployed version runs)"
                } else {
                    ""
                }
            ))
        })?;
        if action.trigger_id != trigger_id {
            return Err(bad_request(format!(
                "Binding {i}: the action '{}' is written for '{}', not '{trigger_id}'.",
                action.name, action.trigger_id
            )));
        }
        if action.deployed_version.is_none() {
            return Err(bad_request(format!(
                "Binding {i}: the action '{}' must be deployed before it is bound.",
                action.name
            )));
        }
        rows.push(ActionBindingRow {
            id: crypto::random_uuid(),
            trigger_id: trigger_id.to_string(),
            position: i as i64,
            display_name: item
                .display_name
                .clone()
                .unwrap_or_else(|| action.name.clone()),
            action_id: action.id,
            created_at: now,
            updated_at: now,
        });
    }
    store::actions::replace_bindings(&mut tx, trigger_id, &rows).await?;
    tx.commit().await?;
    ctx.catalog.clear();
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(render_binding(ctx, r).await?);
    }
    Ok(out)
}

async fn render_binding(ctx: &Ctx, b: &ActionBindingRow) -> Result<Binding> {
    let row = store::actions::get(&ctx.db, &b.action_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Binding {
        id: b.id.clone(),
        trigger_id: b.trigger_id.clone(),
        display_name: b.display_name.clone(),
        action: render(ctx, &row).await?,
        created_at: iso(b.created_at),
        updated_at: iso(b.updated_at),
    })
}

async fn render(ctx: &Ctx, row: &ActionRow) -> Result<Action> {
    let data = data_of(row);
    let deployed_version = match row.deployed_version {
        Some(n) => match store::actions::version_by_number(&ctx.db, &row.id, n).await? {
            Some(v) => Some(render_version(ctx, row, &v)?),
            None => None,
        },
        None => None,
    };
    Ok(Action {
        id: row.id.clone(),
        name: row.name.clone(),
        supported_triggers: data.supported_triggers,
        code: row.code.clone(),
        dependencies: data.dependencies,
        runtime: data.runtime,
        secrets: shown(&open_secrets(ctx, &row.secrets_sealed)?),
        modules: data.modules,
        status: "built",
        all_changes_deployed: row.all_changes_deployed,
        deployed_version,
        built_at: iso(row.updated_at),
        created_at: iso(row.created_at),
        updated_at: iso(row.updated_at),
    })
}

fn render_version(ctx: &Ctx, row: &ActionRow, v: &ActionVersionRow) -> Result<Version> {
    let data = version_data(v);
    let adata = data_of(row);
    Ok(Version {
        id: v.id.clone(),
        action_id: v.action_id.clone(),
        code: v.code.clone(),
        dependencies: data.dependencies,
        deployed: row.deployed_version == Some(v.number),
        number: v.number,
        secrets: shown(&open_secrets(ctx, &v.secrets_sealed)?),
        status: "built",
        runtime: data.runtime,
        supported_triggers: data.supported_triggers,
        action: ActionSummary {
            id: row.id.clone(),
            name: row.name.clone(),
            supported_triggers: adata.supported_triggers,
            all_changes_deployed: row.all_changes_deployed,
            created_at: iso(row.created_at),
            updated_at: iso(row.updated_at),
        },
        created_at: iso(v.created_at),
        updated_at: iso(v.created_at),
        built_at: iso(v.created_at),
    })
}

/// `POST /api/v2/actions/actions/{id}/callsign-translate-phone-message` (a callsign extension;
/// `callsign actions translate-phone-message` calls it): writes a new, undeployed
/// custom-phone-provider Action that runs this send-phone-message Action's handler unchanged
/// (`phone::translate_code`), with the same secrets, and says what could not be mapped.
pub async fn translate_phone_message(ctx: &Ctx, id: &str) -> Result<Translated> {
    let row = store::actions::get(&ctx.db, id)
        .await?
        .ok_or_else(not_found)?;
    if row.trigger_id != super::phone::LEGACY_TRIGGER {
        return Err(bad_request(format!(
            "The action '{}' is written for '{}', not send-phone-message.",
            row.name, row.trigger_id
        )));
    }
    let code = super::phone::translate_code(&row.name, &row.code);
    syntax_check(ctx, &code).await?;
    let mut data = data_of(&row);
    data.supported_triggers = vec![TriggerRef {
        id: super::phone::TRIGGER.into(),
        version: "v1".into(),
    }];
    let now = ctx.clock.now_ms();
    let new = ActionRow {
        id: crypto::random_uuid(),
        name: format!("{}-custom-phone-provider", row.name),
        trigger_id: super::phone::TRIGGER.into(),
        code,
        data: to_object(&data),
        secrets_sealed: row.secrets_sealed.clone(),
        deployed_version: None,
        all_changes_deployed: false,
        created_at: now,
        updated_at: now,
    };
    let mut tx = ctx.db.begin().await?;
    store::actions::insert(&mut tx, &new)
        .await
        .map_err(name_conflict)?;
    tx.commit().await?;
    Ok(Translated {
        action: render(ctx, &new).await?,
        unmapped: super::phone::UNMAPPED
            .iter()
            .map(|s| s.to_string())
            .collect(),
    })
}

/// How long executions are kept (Auth0: ten days).
pub const EXECUTION_RETENTION_DAYS: u64 = 10;

/// `GET /actions/executions/{id}`.
pub async fn execution(ctx: &Ctx, id: &str) -> Result<Execution> {
    let e = store::actions::execution(&ctx.db, id)
        .await?
        .ok_or_else(|| {
            Error::not_found(
                "The execution does not exist.",
                Some("inexistent_execution"),
            )
        })?;
    Ok(Execution {
        id: e.id,
        trigger_id: e.trigger_id,
        status: e.status,
        results: serde_json::from_value(e.results).unwrap_or_default(),
        created_at: iso(e.created_at),
        updated_at: iso(e.updated_at),
    })
}

/// Deletes executions past their retention, in bounded batches.
pub async fn sweep_executions(ctx: &Ctx) -> Result<u64> {
    crate::service::events::retention::sweep(ctx, EXECUTION_RETENTION_DAYS, |cutoff, batch| {
        store::actions::delete_executions_before(&ctx.db, cutoff, batch as i64)
    })
    .await
}
