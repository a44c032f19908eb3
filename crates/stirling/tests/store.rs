#![allow(clippy::panic, clippy::unwrap_used)]
//! The store suite, written once and run on both backends: SQLite in a temporary file and
//! PostgreSQL on 127.0.0.1:5432 (user `root`, database `test`), each test in a fresh schema
//! that is dropped afterwards (`backends/mod.rs`). `scripts/test` makes sure PostgreSQL is
//! running.

#[macro_use]
mod backends;

use std::time::Duration;

use passport::{SigningKey, UnixTime};
use sqlx::Row as _;
use stirling::entry::{EntryForm, EntryName, Environment, StiPaPassword, ValidEntry, parse_ocn};
use stirling::secrets::{SecretString, SecretsError};
use stirling::store::{
    Backend, CertificateId, EventOutcome, NewAcmeAccount, NewApiToken, NewEvent, NewTenant,
    NewUser, NewVersion, Role, Store, StoreError, TenantId, TenantScope, User, VersionState,
};

use backends::Ctx;

on_both_backends!(
    migrations_are_idempotent_and_create_every_table,
    tenant_crud,
    certificate_entry_crud,
    duplicate_spid_is_a_conflict_per_tenant,
    every_entry_query_is_tenant_scoped,
    password_is_stored_only_sealed_and_bound_to_its_row,
    events_append_and_list_newest_first,
    versions_insert_list_activate,
    version_key_is_sealed_and_bound_to_its_row,
    concurrent_activations_leave_exactly_one_active,
    schema_refuses_a_second_active_version,
    deleting_a_tenant_removes_its_entries,
    published_chains_are_served_until_they_expire,
    acme_accounts_are_sealed_unique_and_tenant_scoped,
    sbcs_and_policies_are_tenant_scoped,
    renewal_lock_is_exclusive_across_connections,
    renewal_lock_leaves_the_pool_to_the_attempt,
    users_are_unique_by_email_and_scoped,
    schema_refuses_a_tenantless_operator,
    sessions_expire_and_end,
    api_tokens_are_found_by_hash_scoped_and_revocable,
    entries_resolve_through_the_caller_scope,
);

fn t(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

fn new_tenant(name: &str) -> NewTenant {
    NewTenant {
        name: name.into(),
        company: format!("{name} Telecom"),
        technical_contact_name: "Ada Ops".into(),
        technical_contact_phone: "+12025550100".into(),
        system_email: format!("noc@{name}.example"),
    }
}

fn entry(name: &str, spid: &str, password: &str) -> ValidEntry {
    EntryForm {
        name: name.into(),
        spid: spid.into(),
        sti_pa_account_id: spid.into(),
        sti_pa_user_id: "ops@example.com".into(),
        sti_pa_password: SecretString::new(password.into()),
        environment: "staging".into(),
        sti_ga: false,
    }
    .validate()
    .unwrap()
}

async fn tenant_with_entry(store: &Store, name: &str) -> (TenantId, CertificateId) {
    let tenant = store
        .create_tenant(&new_tenant(name), t(1_000))
        .await
        .unwrap();
    let cert = store
        .create_certificate(&tenant.id, &entry("Main", "709J", "s3cret!"), t(1_000))
        .await
        .unwrap();
    (tenant.id, cert.id)
}

fn conflict(result: Result<impl std::fmt::Debug, StoreError>) -> &'static str {
    match result {
        Err(StoreError::Conflict { what }) => what,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn not_found(result: Result<impl std::fmt::Debug, StoreError>) -> &'static str {
    match result {
        Err(StoreError::NotFound { what }) => what,
        other => panic!("expected not found, got {other:?}"),
    }
}

async fn migrations_are_idempotent_and_create_every_table(ctx: Ctx) {
    ctx.store.migrate().await.unwrap();
    ctx.store.ping().await.unwrap();
    assert_eq!(ctx.store.backend(), ctx.backend);
    let mut raw = ctx.raw().await;
    if ctx.backend == Backend::Sqlite {
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut raw)
            .await
            .unwrap()
            .get(0);
        assert_eq!(mode, "wal");
        // A new database file gets 16 KiB pages (Store::connect): read back on a plain
        // connection, so this is the file's own page size.
        let page_size: i64 = sqlx::query("PRAGMA page_size")
            .fetch_one(&mut raw)
            .await
            .unwrap()
            .get(0);
        assert_eq!(page_size, 16_384);
    }
    for select in [
        "SELECT id, name, company, technical_contact_name, technical_contact_phone, \
         system_email, created_at, updated_at FROM tenants",
        "SELECT id, tenant_id, email, role, password_hash, created_at, updated_at FROM users",
        "SELECT id, user_id, name, prefix, token_hash, created_at, last_used_at FROM api_tokens",
        "SELECT id_hash, user_id, csrf_token, created_at, expires_at FROM sessions",
        "SELECT id, tenant_id, name, spid, sti_pa_account_id, sti_pa_user_id, \
         sti_pa_password_sealed, environment, created_at, updated_at FROM certificates",
        "SELECT id, certificate_id, chain_pem, key_sealed, serial, fingerprint, not_before, \
         not_after, repository_path, state, created_at FROM certificate_versions",
        "SELECT id, certificate_id, at, step, outcome, error_text FROM certificate_events",
        "SELECT id, certificate_id, directory_url, account_url, key_sealed, created_at \
         FROM acme_accounts",
        "SELECT id, tenant_id, name, source_ip, partition_name, mode, enabled, created_at, \
         updated_at FROM sbcs",
        "SELECT id, tenant_id, scope_kind, scope_value, action, certificate_id, created_at, \
         updated_at FROM policies",
        "SELECT verification_failure FROM tenants",
        "SELECT sti_ga FROM certificates",
        "SELECT id, received_at, service, transport, source, tenant_id, sbc_id, sbc_name, \
         call_id, from_tn, to_tn, attestation, verstat, result, status_code, reason, \
         certificate_version_id, x5u, chain_fingerprint, latency_us, raw_request, \
         raw_request_truncated, raw_response, raw_response_truncated FROM sip_messages",
        "SELECT fingerprint, chain_pem, stored_at FROM sip_message_chains",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(select))
            .fetch_all(&mut raw)
            .await
            .unwrap_or_else(|e| panic!("{select}: {e}"));
    }
}

async fn tenant_crud(ctx: Ctx) {
    let store = &ctx.store;
    let created = store
        .create_tenant(&new_tenant("acme"), t(100))
        .await
        .unwrap();
    assert_eq!(created.name, "acme");
    assert_eq!(created.system_email, "noc@acme.example");
    assert_eq!((created.created_at, created.updated_at), (t(100), t(100)));
    assert_eq!(store.tenant(&created.id).await.unwrap(), created);

    let other = store
        .create_tenant(&new_tenant("beta"), t(101))
        .await
        .unwrap();
    let names: Vec<_> = store
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["acme", "beta"]);

    assert_eq!(
        conflict(store.create_tenant(&new_tenant("acme"), t(102)).await),
        "a tenant with this name already exists"
    );
    assert_eq!(
        conflict(
            store
                .update_tenant(&other.id, &new_tenant("acme"), t(103))
                .await
        ),
        "a tenant with this name already exists"
    );

    let mut changed = new_tenant("acme");
    changed.system_email = "alerts@acme.example".into();
    let updated = store
        .update_tenant(&created.id, &changed, t(200))
        .await
        .unwrap();
    assert_eq!(updated.system_email, "alerts@acme.example");
    assert_eq!((updated.created_at, updated.updated_at), (t(100), t(200)));

    store.delete_tenant(&created.id).await.unwrap();
    assert_eq!(not_found(store.tenant(&created.id).await), "tenant");
    assert_eq!(not_found(store.delete_tenant(&created.id).await), "tenant");
    assert_eq!(
        not_found(store.update_tenant(&created.id, &changed, t(300)).await),
        "tenant"
    );
    assert_eq!(store.list_tenants().await.unwrap(), [other]);
}

async fn certificate_entry_crud(ctx: Ctx) {
    let store = &ctx.store;
    let tenant = store
        .create_tenant(&new_tenant("acme"), t(1))
        .await
        .unwrap()
        .id;
    let b = store
        .create_certificate(&tenant, &entry("B entry", "0002", "pw-b"), t(10))
        .await
        .unwrap();
    let a = store
        .create_certificate(&tenant, &entry("A entry", "709j", "pw-a"), t(11))
        .await
        .unwrap();
    assert_eq!(a.tenant_id, tenant);
    assert_eq!(a.fields.spid.as_str(), "709J");
    assert_eq!(a.fields.environment, Environment::Staging);
    assert_eq!(a.created_at, t(11));
    assert_eq!(store.certificate(&tenant, &a.id).await.unwrap(), a);
    assert_eq!(
        store.list_certificates(&tenant).await.unwrap(),
        [a.clone(), b.clone()]
    );
    assert_eq!(
        store
            .certificate_password(&tenant, &a.id)
            .await
            .unwrap()
            .secret_str(),
        "pw-a"
    );

    let mut fields = a.fields.clone();
    fields.name = EntryName::parse("Renamed").unwrap();
    fields.spid = parse_ocn("spid", "1234").unwrap();
    fields.environment = Environment::Production;
    let updated = store
        .update_certificate(&tenant, &a.id, &fields, t(20))
        .await
        .unwrap();
    assert_eq!(updated.fields, fields);
    assert_eq!((updated.created_at, updated.updated_at), (t(11), t(20)));
    // The password survives a field update.
    assert_eq!(
        store
            .certificate_password(&tenant, &a.id)
            .await
            .unwrap()
            .secret_str(),
        "pw-a"
    );

    let new_password = StiPaPassword::parse(SecretString::new("n3w pass".into())).unwrap();
    store
        .set_certificate_password(&tenant, &a.id, &new_password, t(21))
        .await
        .unwrap();
    assert_eq!(
        store
            .certificate_password(&tenant, &a.id)
            .await
            .unwrap()
            .secret_str(),
        "n3w pass"
    );

    store.delete_certificate(&tenant, &a.id).await.unwrap();
    assert_eq!(
        not_found(store.certificate(&tenant, &a.id).await),
        "certificate entry"
    );
    assert_eq!(
        not_found(store.delete_certificate(&tenant, &a.id).await),
        "certificate entry"
    );
    assert_eq!(store.list_certificates(&tenant).await.unwrap(), [b]);
}

async fn duplicate_spid_is_a_conflict_per_tenant(ctx: Ctx) {
    let store = &ctx.store;
    let (tenant, _) = tenant_with_entry(store, "acme").await;
    let what = conflict(
        store
            .create_certificate(&tenant, &entry("Other", "709j", "x"), t(2))
            .await,
    );
    assert_eq!(
        what,
        "a certificate entry with this SPID already exists for the tenant"
    );

    let second = store
        .create_certificate(&tenant, &entry("Second", "0001", "x"), t(2))
        .await
        .unwrap();
    let mut fields = second.fields.clone();
    fields.spid = parse_ocn("spid", "709J").unwrap();
    conflict(
        store
            .update_certificate(&tenant, &second.id, &fields, t(3))
            .await,
    );

    // Another tenant may use the same SPID.
    let other = store
        .create_tenant(&new_tenant("beta"), t(1))
        .await
        .unwrap()
        .id;
    store
        .create_certificate(&other, &entry("Main", "709J", "x"), t(2))
        .await
        .unwrap();

    // An entry for a tenant that does not exist breaks the foreign key.
    conflict(
        store
            .create_certificate(&TenantId::new(), &entry("Ghost", "0009", "x"), t(2))
            .await,
    );
}

async fn every_entry_query_is_tenant_scoped(ctx: Ctx) {
    let store = &ctx.store;
    let (owner, cert) = tenant_with_entry(store, "acme").await;
    let key = SigningKey::generate().unwrap();
    let version = store
        .insert_version(&owner, &cert, &version_of(&key, "/cr/a.pem"), t(5))
        .await
        .unwrap();
    let intruder = store
        .create_tenant(&new_tenant("evil"), t(1))
        .await
        .unwrap()
        .id;
    let fields = store.certificate(&owner, &cert).await.unwrap().fields;

    not_found(store.certificate(&intruder, &cert).await);
    assert!(store.list_certificates(&intruder).await.unwrap().is_empty());
    not_found(
        store
            .update_certificate(&intruder, &cert, &fields, t(9))
            .await,
    );
    not_found(store.certificate_password(&intruder, &cert).await);
    let password = StiPaPassword::parse(SecretString::new("stolen".into())).unwrap();
    not_found(
        store
            .set_certificate_password(&intruder, &cert, &password, t(9))
            .await,
    );
    not_found(store.delete_certificate(&intruder, &cert).await);
    not_found(store.append_event(&intruder, &cert, &started(t(9))).await);
    assert!(
        store
            .list_events(&intruder, &cert, 10)
            .await
            .unwrap()
            .is_empty()
    );
    not_found(
        store
            .insert_version(&intruder, &cert, &version_of(&key, "/cr/b.pem"), t(9))
            .await,
    );
    assert!(
        store
            .list_versions(&intruder, &cert)
            .await
            .unwrap()
            .is_empty()
    );
    not_found(store.version(&intruder, &version.id).await);
    not_found(store.version_key(&intruder, &version.id).await);
    assert!(
        store
            .active_version(&intruder, &cert)
            .await
            .unwrap()
            .is_none()
    );
    not_found(
        store
            .activate_version(&intruder, &cert, &version.id, t(9))
            .await,
    );

    // Nothing changed for the owner.
    assert_eq!(
        store.certificate(&owner, &cert).await.unwrap().fields,
        fields
    );
    assert_eq!(
        store
            .certificate_password(&owner, &cert)
            .await
            .unwrap()
            .secret_str(),
        "s3cret!"
    );
    assert!(
        store
            .list_events(&owner, &cert, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.list_versions(&owner, &cert).await.unwrap(), [version]);
}

async fn password_is_stored_only_sealed_and_bound_to_its_row(ctx: Ctx) {
    let store = &ctx.store;
    let (tenant, first) = tenant_with_entry(store, "acme").await;
    let second = store
        .create_certificate(&tenant, &entry("Second", "0001", "other-pw"), t(2))
        .await
        .unwrap()
        .id;
    let mut raw = ctx.raw().await;
    let sealed: String =
        sqlx::query("SELECT sti_pa_password_sealed FROM certificates WHERE id = $1")
            .bind(first.as_str())
            .fetch_one(&mut raw)
            .await
            .unwrap()
            .get(0);
    assert!(!sealed.contains("s3cret"));

    // Copy the first row's sealed password into the second row: it must not open there.
    sqlx::query("UPDATE certificates SET sti_pa_password_sealed = $1 WHERE id = $2")
        .bind(&sealed)
        .bind(second.as_str())
        .execute(&mut raw)
        .await
        .unwrap();
    match store.certificate_password(&tenant, &second).await {
        Err(StoreError::Secret(SecretsError::Unauthentic)) => {}
        other => panic!("moved sealed password opened or failed oddly: {other:?}"),
    }
    assert_eq!(
        store
            .certificate_password(&tenant, &first)
            .await
            .unwrap()
            .secret_str(),
        "s3cret!"
    );
}

fn started(at: UnixTime) -> NewEvent<'static> {
    NewEvent {
        at,
        step: "sti_pa_login",
        outcome: EventOutcome::Started,
        error_text: None,
    }
}

async fn events_append_and_list_newest_first(ctx: Ctx) {
    let store = &ctx.store;
    let (tenant, cert) = tenant_with_entry(store, "acme").await;
    let first = store
        .append_event(&tenant, &cert, &started(t(50)))
        .await
        .unwrap();
    let failed = NewEvent {
        at: t(60),
        step: "sti_pa_login",
        outcome: EventOutcome::Failed,
        error_text: Some("401 from the STI-PA"),
    };
    let second = store.append_event(&tenant, &cert, &failed).await.unwrap();
    // Same second as the previous one: the time-ordered id keeps insertion order.
    let third = store
        .append_event(
            &tenant,
            &cert,
            &NewEvent {
                outcome: EventOutcome::Succeeded,
                error_text: None,
                ..failed
            },
        )
        .await
        .unwrap();
    assert_eq!(second.error_text.as_deref(), Some("401 from the STI-PA"));
    assert_eq!(
        store.list_events(&tenant, &cert, 10).await.unwrap(),
        [third.clone(), second.clone(), first]
    );
    assert_eq!(
        store.list_events(&tenant, &cert, 2).await.unwrap(),
        [third, second]
    );
    not_found(
        store
            .append_event(&tenant, &CertificateId::new(), &started(t(1)))
            .await,
    );

    store.delete_certificate(&tenant, &cert).await.unwrap();
    let mut raw = ctx.raw().await;
    let left: i64 = sqlx::query("SELECT COUNT(*) FROM certificate_events")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

const CHAIN: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fn version_of<'a>(key: &'a SigningKey, path: &'a str) -> NewVersion<'a> {
    NewVersion {
        chain_pem: CHAIN,
        key,
        serial: "01ab",
        fingerprint: "5e:11",
        not_before: t(1_000),
        not_after: t(1_000 + 7 * 86_400),
        repository_path: path,
    }
}

async fn versions_insert_list_activate(ctx: Ctx) {
    let store = &ctx.store;
    let (tenant, cert) = tenant_with_entry(store, "acme").await;
    let key = SigningKey::generate().unwrap();
    let v1 = store
        .insert_version(&tenant, &cert, &version_of(&key, "/cr/1.pem"), t(10))
        .await
        .unwrap();
    let v2 = store
        .insert_version(&tenant, &cert, &version_of(&key, "/cr/2.pem"), t(10))
        .await
        .unwrap();
    assert_eq!(v1.state, VersionState::Pending);
    assert_eq!(v1.chain_pem, CHAIN);
    assert_eq!((v1.not_before, v1.not_after), (t(1_000), t(605_800)));
    assert_eq!(v1.repository_path, "/cr/1.pem");
    assert_eq!(
        store.list_versions(&tenant, &cert).await.unwrap(),
        [v1.clone(), v2.clone()]
    );
    assert!(
        store
            .active_version(&tenant, &cert)
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(
        conflict(
            store
                .insert_version(&tenant, &cert, &version_of(&key, "/cr/1.pem"), t(11))
                .await
        ),
        "a certificate version with this repository path already exists"
    );

    let active = store
        .activate_version(&tenant, &cert, &v1.id, t(12))
        .await
        .unwrap();
    assert_eq!(active.state, VersionState::Active);
    assert_eq!(
        store.active_version(&tenant, &cert).await.unwrap(),
        Some(active)
    );

    store
        .activate_version(&tenant, &cert, &v2.id, t(13))
        .await
        .unwrap();
    let states: Vec<_> = store
        .list_versions(&tenant, &cert)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.state)
        .collect();
    assert_eq!(states, [VersionState::Retired, VersionState::Active]);

    // Activating the active one again is a no-op; rolling back to the retired one works.
    store
        .activate_version(&tenant, &cert, &v2.id, t(14))
        .await
        .unwrap();
    store
        .activate_version(&tenant, &cert, &v1.id, t(15))
        .await
        .unwrap();
    assert_eq!(
        store
            .active_version(&tenant, &cert)
            .await
            .unwrap()
            .map(|v| v.id),
        Some(v1.id.clone())
    );

    // A version of another entry cannot be activated through this one; nothing changes.
    let other = store
        .create_certificate(&tenant, &entry("Other", "0001", "x"), t(2))
        .await
        .unwrap()
        .id;
    let foreign = store
        .insert_version(&tenant, &other, &version_of(&key, "/cr/o.pem"), t(16))
        .await
        .unwrap();
    assert_eq!(
        not_found(
            store
                .activate_version(&tenant, &cert, &foreign.id, t(17))
                .await
        ),
        "certificate version"
    );
    assert_eq!(
        store
            .active_version(&tenant, &cert)
            .await
            .unwrap()
            .map(|v| v.id),
        Some(v1.id)
    );
    assert!(
        store
            .active_version(&tenant, &other)
            .await
            .unwrap()
            .is_none()
    );
}

async fn version_key_is_sealed_and_bound_to_its_row(ctx: Ctx) {
    let store = &ctx.store;
    let (tenant, cert) = tenant_with_entry(store, "acme").await;
    let key1 = SigningKey::generate().unwrap();
    let key2 = SigningKey::generate().unwrap();
    let v1 = store
        .insert_version(&tenant, &cert, &version_of(&key1, "/cr/1.pem"), t(10))
        .await
        .unwrap();
    let v2 = store
        .insert_version(&tenant, &cert, &version_of(&key2, "/cr/2.pem"), t(10))
        .await
        .unwrap();
    assert_eq!(
        store
            .version_key(&tenant, &v1.id)
            .await
            .unwrap()
            .public_point(),
        key1.public_point()
    );

    let mut raw = ctx.raw().await;
    let sealed: String = sqlx::query("SELECT key_sealed FROM certificate_versions WHERE id = $1")
        .bind(v1.id.as_str())
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get(0);
    sqlx::query("UPDATE certificate_versions SET key_sealed = $1 WHERE id = $2")
        .bind(&sealed)
        .bind(v2.id.as_str())
        .execute(&mut raw)
        .await
        .unwrap();
    match store.version_key(&tenant, &v2.id).await {
        Err(StoreError::Secret(SecretsError::Unauthentic)) => {}
        other => panic!("moved sealed key opened or failed oddly: {other:?}"),
    }
}

async fn concurrent_activations_leave_exactly_one_active(ctx: Ctx) {
    let store = &ctx.store;
    let (tenant, cert) = tenant_with_entry(store, "acme").await;
    let key = SigningKey::generate().unwrap();
    let mut ids = Vec::new();
    for i in 0..6 {
        let path = format!("/cr/{i}.pem");
        let v = store
            .insert_version(&tenant, &cert, &version_of(&key, &path), t(10))
            .await
            .unwrap();
        ids.push(v.id);
    }
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (store, tenant, cert, id) =
                (store.clone(), tenant.clone(), cert.clone(), id.clone());
            tokio::spawn(async move { store.activate_version(&tenant, &cert, &id, t(20)).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let versions = store.list_versions(&tenant, &cert).await.unwrap();
    let active = versions
        .iter()
        .filter(|v| v.state == VersionState::Active)
        .count();
    let retired = versions
        .iter()
        .filter(|v| v.state == VersionState::Retired)
        .count();
    assert_eq!((active, retired), (1, 5));
}

async fn schema_refuses_a_second_active_version(ctx: Ctx) {
    let store = &ctx.store;
    let (tenant, cert) = tenant_with_entry(store, "acme").await;
    let key = SigningKey::generate().unwrap();
    let v1 = store
        .insert_version(&tenant, &cert, &version_of(&key, "/cr/1.pem"), t(10))
        .await
        .unwrap();
    let v2 = store
        .insert_version(&tenant, &cert, &version_of(&key, "/cr/2.pem"), t(10))
        .await
        .unwrap();
    store
        .activate_version(&tenant, &cert, &v1.id, t(11))
        .await
        .unwrap();
    // Bypass the store: the partial unique index must still refuse a second active version.
    let mut raw = ctx.raw().await;
    let err = sqlx::query("UPDATE certificate_versions SET state = 'active' WHERE id = $1")
        .bind(v2.id.as_str())
        .execute(&mut raw)
        .await
        .unwrap_err();
    let db = err.as_database_error().unwrap();
    assert_eq!(db.kind(), sqlx::error::ErrorKind::UniqueViolation, "{db}");
    // And the schema refuses states it does not know.
    let err = sqlx::query("UPDATE certificate_versions SET state = 'bogus' WHERE id = $1")
        .bind(v2.id.as_str())
        .execute(&mut raw)
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().kind(),
        sqlx::error::ErrorKind::CheckViolation
    );
}

async fn deleting_a_tenant_removes_its_entries(ctx: Ctx) {
    let store = &ctx.store;
    let (tenant, cert) = tenant_with_entry(store, "acme").await;
    let key = SigningKey::generate().unwrap();
    store
        .insert_version(&tenant, &cert, &version_of(&key, "/cr/1.pem"), t(10))
        .await
        .unwrap();
    store
        .append_event(&tenant, &cert, &started(t(10)))
        .await
        .unwrap();
    let (keep, keep_cert) = tenant_with_entry(store, "beta").await;
    store.delete_tenant(&tenant).await.unwrap();
    let mut raw = ctx.raw().await;
    for (table, expected) in [
        ("certificates", 1),
        ("certificate_versions", 0),
        ("certificate_events", 0),
    ] {
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&mut raw)
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, expected, "{table}");
    }
    assert_eq!(
        store.certificate(&keep, &keep_cert).await.unwrap().id,
        keep_cert
    );
}

async fn published_chains_are_served_until_they_expire(ctx: Ctx) {
    let store = &ctx.store;
    let (tenant, cert) = tenant_with_entry(store, "acme").await;
    let key = SigningKey::generate().unwrap();
    let v = store
        .insert_version(&tenant, &cert, &version_of(&key, "cr/709J/a.pem"), t(10))
        .await
        .unwrap();
    // Pending versions are served (the self-check fetches before activation).
    let published = store
        .published_chain("cr/709J/a.pem", t(2_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(published.chain_pem, CHAIN);
    assert_eq!(published.not_after, v.not_after);
    assert!(
        store
            .published_chain("cr/709J/b.pem", t(2_000))
            .await
            .unwrap()
            .is_none()
    );
    // Not after its notAfter.
    assert!(
        store
            .published_chain("cr/709J/a.pem", v.not_after)
            .await
            .unwrap()
            .is_none()
    );
}

async fn acme_accounts_are_sealed_unique_and_tenant_scoped(ctx: Ctx) {
    let store = &ctx.store;
    let (tenant, cert) = tenant_with_entry(store, "acme").await;
    let (other_tenant, other_cert) = tenant_with_entry(store, "beta").await;
    let dir = "http://127.0.0.1:1/acme/directory";
    assert!(
        store
            .acme_account(&tenant, &cert, dir)
            .await
            .unwrap()
            .is_none()
    );
    let key = SigningKey::generate().unwrap();
    let new = NewAcmeAccount {
        directory_url: dir,
        account_url: "http://127.0.0.1:1/acme/acct/1",
        key: &key,
    };
    let stored = store
        .insert_acme_account(&tenant, &cert, &new, t(10))
        .await
        .unwrap();
    assert_eq!(stored.account_url, "http://127.0.0.1:1/acme/acct/1");
    assert_eq!(stored.directory_url, dir);
    assert_eq!(stored.certificate_id, cert);
    assert_eq!(stored.created_at, t(10));
    assert_eq!(stored.key.public_point(), key.public_point());
    let read = store
        .acme_account(&tenant, &cert, dir)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.key.public_point(), key.public_point());
    assert_eq!(read.account_url, stored.account_url);

    // One account per entry and directory.
    conflict(store.insert_acme_account(&tenant, &cert, &new, t(11)).await);
    // Another directory is another account.
    let key2 = SigningKey::generate().unwrap();
    store
        .insert_acme_account(
            &tenant,
            &cert,
            &NewAcmeAccount {
                directory_url: "http://127.0.0.1:2/directory",
                account_url: "http://127.0.0.1:2/acct/9",
                key: &key2,
            },
            t(12),
        )
        .await
        .unwrap();

    // Tenant scoping: another tenant cannot read or write this entry's account.
    assert!(
        store
            .acme_account(&other_tenant, &cert, dir)
            .await
            .unwrap()
            .is_none()
    );
    not_found(
        store
            .insert_acme_account(&other_tenant, &cert, &new, t(13))
            .await,
    );
    assert!(
        store
            .acme_account(&other_tenant, &other_cert, dir)
            .await
            .unwrap()
            .is_none()
    );

    // The key is stored only sealed, bound to its row.
    let mut raw = ctx.raw().await;
    let sealed: String = sqlx::query("SELECT key_sealed FROM acme_accounts WHERE account_url = $1")
        .bind("http://127.0.0.1:1/acme/acct/1")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get(0);
    assert!(!sealed.contains("BEGIN"));
    sqlx::query("UPDATE acme_accounts SET key_sealed = $1 WHERE account_url = $2")
        .bind(&sealed)
        .bind("http://127.0.0.1:2/acct/9")
        .execute(&mut raw)
        .await
        .unwrap();
    match store
        .acme_account(&tenant, &cert, "http://127.0.0.1:2/directory")
        .await
    {
        Err(StoreError::Secret(SecretsError::Unauthentic)) => {}
        other => panic!("moved sealed key opened or failed oddly: {other:?}"),
    }

    // Deleting the entry removes its accounts.
    store.delete_certificate(&tenant, &cert).await.unwrap();
    let left: i64 = sqlx::query("SELECT COUNT(*) FROM acme_accounts")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

async fn sbcs_and_policies_are_tenant_scoped(ctx: Ctx) {
    use stirling::signing::{PolicyAction, PolicyScope};
    use stirling::store::{PolicyForm, SbcForm, TenantScope};

    let store = &ctx.store;
    let a = store.create_tenant(&new_tenant("a"), t(1)).await.unwrap();
    let b = store.create_tenant(&new_tenant("b"), t(1)).await.unwrap();
    let form = |name: &str, source: &str, partition: &str, mode: &str| SbcForm {
        name: name.into(),
        source: source.into(),
        partition: partition.into(),
        mode: mode.into(),
    };
    let sbc = form("edge-1", "192.0.2.0/24", "Sign.Example.net", "sign")
        .validate()
        .unwrap();
    let created = store.create_sbc(&a.id, &sbc, t(2)).await.unwrap();
    assert_eq!(created.partition, "sign.example.net");
    assert_eq!(created.source.to_string(), "192.0.2.0/24");
    // The same source and partition cannot belong to two SBCs (a request must route to one).
    let same = form("edge-2", "192.0.2.0/24", "sign.example.net", "both")
        .validate()
        .unwrap();
    assert!(matches!(
        store.create_sbc(&b.id, &same, t(2)).await,
        Err(StoreError::Conflict { .. })
    ));
    let errors = form("", "300.1.1.1", "bad host!", "relay")
        .validate()
        .unwrap_err();
    let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
    assert_eq!(fields, ["name", "source", "partition", "mode"]);

    let own = TenantScope::Tenant(a.id.clone());
    let other = TenantScope::Tenant(b.id.clone());
    assert_eq!(store.list_sbcs(&own).await.unwrap().len(), 1);
    assert!(store.list_sbcs(&other).await.unwrap().is_empty());
    assert_eq!(store.list_sbcs(&TenantScope::All).await.unwrap().len(), 1);
    assert!(matches!(
        store.sbc(&other, &created.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_sbc(&b.id, &created.id).await,
        Err(StoreError::NotFound { .. })
    ));

    // A policy may name only its own tenant's certificate entry.
    let cert_a = store
        .create_certificate(&a.id, &entry("Main", "709J", "pw"), t(3))
        .await
        .unwrap();
    let rule = PolicyForm {
        scope: "calling_prefix".into(),
        value: "+1 215".into(),
        action: "B".into(),
        certificate_id: Some(cert_a.id.to_string()),
    }
    .validate()
    .unwrap();
    assert_eq!(rule.scope, PolicyScope::CallingPrefix("1215".into()));
    assert_eq!(rule.action, PolicyAction::Attest(passport::Attestation::B));
    assert!(matches!(
        store.create_policy(&b.id, &rule, t(4)).await,
        Err(StoreError::NotFound { .. })
    ));
    let stored = store.create_policy(&a.id, &rule, t(4)).await.unwrap();
    let listed = store.list_policies(&own).await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&stored));
    assert!(store.list_policies(&other).await.unwrap().is_empty());
    let tn_list = PolicyForm {
        scope: "tn_list".into(),
        value: "+12025550100, 2025550101".into(),
        action: "block".into(),
        certificate_id: None,
    }
    .validate()
    .unwrap();
    store.create_policy(&a.id, &tn_list, t(5)).await.unwrap();
    let listed = store.list_policies(&own).await.unwrap();
    assert_eq!(listed[1].rule, tn_list);
    assert!(matches!(
        store.delete_policy(&b.id, &stored.id).await,
        Err(StoreError::NotFound { .. })
    ));
    store.delete_policy(&a.id, &stored.id).await.unwrap();
    assert_eq!(store.list_policies(&own).await.unwrap().len(), 1);

    // The verification failure setting defaults to annotating.
    let settings = store.verification_failure_settings().await.unwrap();
    assert!(settings.iter().all(|(_, reject)| !reject));
    store.set_verification_failure(&a.id, true).await.unwrap();
    let settings = store.verification_failure_settings().await.unwrap();
    assert!(settings.contains(&(a.id.clone(), true)));
    assert!(settings.contains(&(b.id.clone(), false)));
}

async fn renewal_lock_is_exclusive_across_connections(ctx: Ctx) {
    let store = &ctx.store;
    let tenant = store.create_tenant(&new_tenant("a"), t(1)).await.unwrap();
    let cert = store
        .create_certificate(&tenant.id, &entry("Main", "709J", "pw"), t(2))
        .await
        .unwrap();
    let first = store.try_lock_entry(&cert.id).await.unwrap();
    assert!(first.is_some());
    let second = store.try_lock_entry(&cert.id).await.unwrap();
    match ctx.backend {
        // A second node (another connection) does not get it while the first holds it.
        Backend::Postgres => assert!(second.is_none()),
        // SQLite serves a single node, which serialises attempts itself.
        Backend::Sqlite => assert!(second.is_some()),
    }
    if let Some(lock) = second {
        lock.release().await;
    }
    first.unwrap().release().await;
    let again = store.try_lock_entry(&cert.id).await.unwrap();
    assert!(again.is_some(), "released locks can be taken again");
    again.unwrap().release().await;
}

async fn renewal_lock_leaves_the_pool_to_the_attempt(ctx: Ctx) {
    // The smallest pool a node may be configured with (`store.max_connections = 1`).
    let key = std::sync::Arc::new(stirling::secrets::MasterKey::from_bytes(&[42u8; 32]).unwrap());
    let store = Store::connect(&ctx.url, 1, key).await.unwrap();
    let tenant = store.create_tenant(&new_tenant("a"), t(1)).await.unwrap();
    let cert = store
        .create_certificate(&tenant.id, &entry("Main", "709J", "pw"), t(2))
        .await
        .unwrap();
    let lock = store.try_lock_entry(&cert.id).await.unwrap().unwrap();
    // The attempt works through the pool while it holds the lock: the lock's connection is
    // not one of the pool's.
    let read = store.certificate(&tenant.id, &cert.id).await;
    lock.release().await;
    assert_eq!(read.unwrap().id, cert.id);
    let again = ctx.store.try_lock_entry(&cert.id).await.unwrap();
    assert!(again.is_some(), "released");
    again.unwrap().release().await;
    store.close().await;
}

async fn user(store: &Store, tenant: Option<&TenantId>, email: &str, role: Role) -> User {
    store
        .create_user(
            &NewUser {
                tenant_id: tenant,
                email,
                role,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
            },
            t(10),
        )
        .await
        .unwrap()
}

async fn users_are_unique_by_email_and_scoped(ctx: Ctx) {
    let store = &ctx.store;
    let (a, _) = tenant_with_entry(store, "alpha").await;
    let (b, _) = tenant_with_entry(store, "beta").await;
    let admin = user(store, None, "Root@Example.com", Role::Admin).await;
    assert_eq!(admin.email, "root@example.com", "stored lower case");
    assert_eq!(admin.scope(), TenantScope::All);
    let op_a = user(store, Some(&a), "op@alpha.example", Role::Operator).await;
    let viewer_b = user(store, Some(&b), "view@beta.example", Role::Viewer).await;
    assert_eq!(op_a.scope(), TenantScope::Tenant(a.clone()));

    let again = store
        .create_user(
            &NewUser {
                tenant_id: Some(&b),
                email: "OP@alpha.example",
                role: Role::Viewer,
                password_hash: "x",
            },
            t(11),
        )
        .await;
    assert_eq!(conflict(again), "a user with this email already exists");

    let (found, hash) = store
        .user_for_login(" OP@Alpha.example ")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, op_a);
    assert!(hash.starts_with("$argon2id$"));
    assert!(
        store
            .user_for_login("nobody@x.example")
            .await
            .unwrap()
            .is_none()
    );

    let scope_a = TenantScope::Tenant(a.clone());
    let listed: Vec<_> = store
        .list_users(&scope_a)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(listed, ["op@alpha.example"]);
    assert_eq!(store.list_users(&TenantScope::All).await.unwrap().len(), 3);
    assert_eq!(not_found(store.user(&scope_a, &viewer_b.id).await), "user");
    assert_eq!(not_found(store.user(&scope_a, &admin.id).await), "user");
    not_found(store.delete_user(&scope_a, &viewer_b.id).await);
    store
        .delete_user(&TenantScope::Tenant(b.clone()), &viewer_b.id)
        .await
        .unwrap();
    not_found(store.user(&TenantScope::All, &viewer_b.id).await);
}

async fn schema_refuses_a_tenantless_operator(ctx: Ctx) {
    let result = ctx
        .store
        .create_user(
            &NewUser {
                tenant_id: None,
                email: "op@example.com",
                role: Role::Operator,
                password_hash: "x",
            },
            t(1),
        )
        .await;
    conflict(result);
}

async fn sessions_expire_and_end(ctx: Ctx) {
    let store = &ctx.store;
    let (a, _) = tenant_with_entry(store, "alpha").await;
    let op = user(store, Some(&a), "op@alpha.example", Role::Operator).await;
    store
        .create_session("hash-1", &op.id, "csrf-1", t(100), t(200))
        .await
        .unwrap();
    store
        .create_session("hash-2", &op.id, "csrf-2", t(100), t(150))
        .await
        .unwrap();
    let live = store.session("hash-1", t(199)).await.unwrap().unwrap();
    assert_eq!(live.user, op);
    assert_eq!(live.csrf_token, "csrf-1");
    assert!(store.session("hash-1", t(200)).await.unwrap().is_none());
    assert!(store.session("unknown", t(120)).await.unwrap().is_none());
    assert_eq!(store.delete_expired_sessions(t(160)).await.unwrap(), 1);
    assert!(store.session("hash-2", t(120)).await.unwrap().is_none());
    store.delete_session("hash-1").await.unwrap();
    assert!(store.session("hash-1", t(120)).await.unwrap().is_none());
    store.delete_session("hash-1").await.unwrap();
    // Deleting the user ends its sessions.
    store
        .create_session("hash-3", &op.id, "csrf-3", t(100), t(900))
        .await
        .unwrap();
    store.delete_user(&TenantScope::All, &op.id).await.unwrap();
    assert!(store.session("hash-3", t(120)).await.unwrap().is_none());
}

async fn api_tokens_are_found_by_hash_scoped_and_revocable(ctx: Ctx) {
    let store = &ctx.store;
    let (a, _) = tenant_with_entry(store, "alpha").await;
    let (b, _) = tenant_with_entry(store, "beta").await;
    let op_a = user(store, Some(&a), "op@alpha.example", Role::Operator).await;
    let op_b = user(store, Some(&b), "op@beta.example", Role::Operator).await;
    let token = store
        .create_api_token(
            &NewApiToken {
                user_id: &op_a.id,
                name: "ci",
                prefix: "AbCdEf",
                token_hash: "h-a",
            },
            t(50),
        )
        .await
        .unwrap();
    assert_eq!(token.user_email, "op@alpha.example");
    assert_eq!(token.last_used_at, None);
    store
        .create_api_token(
            &NewApiToken {
                user_id: &op_b.id,
                name: "other",
                prefix: "XyZ123",
                token_hash: "h-b",
            },
            t(51),
        )
        .await
        .unwrap();

    assert_eq!(
        store.api_token_user("h-a", t(60)).await.unwrap(),
        Some(op_a)
    );
    assert!(store.api_token_user("nope", t(60)).await.unwrap().is_none());
    let scope_a = TenantScope::Tenant(a);
    let listed = store.list_api_tokens(&scope_a).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(t(60)));
    // Uses within a minute do not rewrite it; a later one does.
    store.api_token_user("h-a", t(100)).await.unwrap();
    assert_eq!(
        store.list_api_tokens(&scope_a).await.unwrap()[0].last_used_at,
        Some(t(60))
    );
    store.api_token_user("h-a", t(120)).await.unwrap();
    assert_eq!(
        store.list_api_tokens(&scope_a).await.unwrap()[0].last_used_at,
        Some(t(120))
    );
    assert_eq!(
        store
            .list_api_tokens(&TenantScope::All)
            .await
            .unwrap()
            .len(),
        2
    );
    let b_token = store
        .list_api_tokens(&TenantScope::Tenant(b))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        not_found(store.api_token(&scope_a, &b_token.id).await),
        "API token"
    );
    not_found(store.delete_api_token(&scope_a, &b_token.id).await);
    store.delete_api_token(&scope_a, &token.id).await.unwrap();
    assert!(store.api_token_user("h-a", t(61)).await.unwrap().is_none());
    assert!(store.api_token_user("h-b", t(61)).await.unwrap().is_some());
}

async fn entries_resolve_through_the_caller_scope(ctx: Ctx) {
    let store = &ctx.store;
    let (a, cert_a) = tenant_with_entry(store, "alpha").await;
    let (b, cert_b) = tenant_with_entry(store, "beta").await;
    let scope_a = TenantScope::Tenant(a.clone());
    assert_eq!(
        store.certificate_tenant(&scope_a, &cert_a).await.unwrap(),
        a
    );
    assert_eq!(
        not_found(store.certificate_tenant(&scope_a, &cert_b).await),
        "certificate entry"
    );
    assert_eq!(
        store
            .certificate_tenant(&TenantScope::All, &cert_b)
            .await
            .unwrap(),
        b
    );
    not_found(
        store
            .certificate_tenant(&TenantScope::All, &CertificateId::new())
            .await,
    );
    let ids = |entries: Vec<stirling::store::CertificateEntry>| {
        entries.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.list_certificates_in(&scope_a).await.unwrap()),
        std::slice::from_ref(&cert_a)
    );
    let mut all = ids(store.list_certificates_in(&TenantScope::All).await.unwrap());
    all.sort();
    let mut expected = vec![cert_a, cert_b];
    expected.sort();
    assert_eq!(all, expected);
}
