use tills_domain::{Email, Role, new_id};
use tills_storage::{AuditFilter, NewAudit, StorageError, StoreStatus, UniqueKey, UserChanges};

use crate::{Ctx, both_backends, make_store, new_user, sid};

async fn stores_and_settings(ctx: Ctx) {
    let s = &ctx.store;
    let a = make_store(s, "downtown-01").await;
    assert_eq!(a.id.as_str(), "downtown-01");
    assert_eq!(a.status, StoreStatus::Active);
    assert_eq!(a.invoice_prefix, "INV-");
    make_store(s, "uptown").await;

    let dup = s
        .create_store(
            tills_storage::NewStore {
                id: sid("downtown-01"),
                name: "again".into(),
                currency: "EUR".into(),
                currency_decimals: 2,
                timezone: "UTC".into(),
                prices_include_tax: false,
                invoice_prefix: "X-".into(),
            },
            new_user("other@x.test", Role::Admin),
            NewAudit::new("store.create"),
        )
        .await;
    assert!(matches!(dup, Err(StorageError::Unique(UniqueKey::StoreId))), "{dup:?}");
    // The failed create left nothing behind: its owner does not exist.
    assert!(s.find_user_by_email(&sid("downtown-01"), &Email::parse("other@x.test").unwrap()).await.unwrap().is_none());

    let listed = s.list_stores(None, 10).await.unwrap();
    assert_eq!(listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["downtown-01", "uptown"]);
    let page2 = s.list_stores(Some(&sid("downtown-01")), 10).await.unwrap();
    assert_eq!(page2.len(), 1);

    let mut changed = a.clone();
    changed.timezone = "Europe/Berlin".into();
    changed.receipt_footer = Some("Danke!".into());
    changed.status = StoreStatus::Suspended;
    let saved = s.save_store(&changed, NewAudit::new("store.update")).await.unwrap();
    assert_eq!(saved.timezone, "Europe/Berlin");
    assert_eq!(saved.status, StoreStatus::Suspended);
    assert_eq!(s.get_store(&sid("downtown-01")).await.unwrap().unwrap().receipt_footer.as_deref(), Some("Danke!"));
    assert!(s.get_store(&sid("nowhere")).await.unwrap().is_none());
    s.ping().await.unwrap();
}
both_backends!(stores_and_settings_story, stores_and_settings);

async fn users(ctx: Ctx) {
    let s = &ctx.store;
    let a = sid("a-store");
    let b = sid("b-store");
    make_store(s, "a-store").await;
    make_store(s, "b-store").await;

    let cashier =
        s.create_user(&a, new_user("Cash@A.test", Role::Cashier), NewAudit::new("user.create")).await.unwrap();
    assert_eq!(cashier.email, "cash@a.test");
    assert_eq!(cashier.role, Role::Cashier);
    let dup = s.create_user(&a, new_user("cash@a.test", Role::Manager), NewAudit::new("user.create")).await;
    assert!(matches!(dup, Err(StorageError::Unique(UniqueKey::Email))), "{dup:?}");
    // The same email in another store is another account.
    s.create_user(&b, new_user("cash@a.test", Role::Cashier), NewAudit::new("user.create")).await.unwrap();

    let listed = s.list_users(&a, None, 50).await.unwrap();
    assert_eq!(listed.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(), ["admin@a-store.test", "cash@a.test"]);
    let after = s.list_users(&a, Some(("admin@a-store.test", listed[0].id)), 50).await.unwrap();
    assert_eq!(after.len(), 1);

    let promoted = s
        .update_user(&a, cashier.id, UserChanges { role: Some(Role::Manager), ..Default::default() }, None)
        .await
        .unwrap();
    assert_eq!(promoted.role, Role::Manager);

    // The last active admin cannot be demoted, deactivated or deleted.
    let admin = s.find_user_by_email(&a, &Email::parse("admin@a-store.test").unwrap()).await.unwrap().unwrap();
    for changes in [
        UserChanges { role: Some(Role::Cashier), ..Default::default() },
        UserChanges { active: Some(false), ..Default::default() },
    ] {
        let r = s.update_user(&a, admin.id, changes, None).await;
        assert!(matches!(r, Err(StorageError::Conflict(tills_domain::Conflict::LastAdmin))), "{r:?}");
    }
    let r = s.delete_user(&a, admin.id, NewAudit::new("user.delete")).await;
    assert!(matches!(r, Err(StorageError::Conflict(tills_domain::Conflict::LastAdmin))), "{r:?}");
    assert_eq!(s.get_user(&a, admin.id).await.unwrap().unwrap().role, Role::Admin, "refused change left no trace");

    // With a second admin, the first may step down.
    s.update_user(&a, cashier.id, UserChanges { role: Some(Role::Admin), ..Default::default() }, None).await.unwrap();
    s.update_user(&a, admin.id, UserChanges { active: Some(false), ..Default::default() }, None).await.unwrap();
    s.delete_user(&a, admin.id, NewAudit::new("user.delete")).await.unwrap();
    assert!(s.get_user(&a, admin.id).await.unwrap().is_none());
    assert!(matches!(s.delete_user(&a, new_id(), NewAudit::new("user.delete")).await, Err(StorageError::NotFound)));
}
both_backends!(users_story, users);

/// The last-admin rule refuses only a change that takes the last active admin away: in a store
/// that has no admin (imported, its legacy users all cashiers) every other change goes through,
/// and once it has one, that one is protected again.
async fn a_store_without_an_admin(ctx: Ctx) {
    let s = &ctx.store;
    let a = sid("no-admin");
    let new = tills_storage::NewStore {
        id: a.clone(),
        name: "No admin".into(),
        currency: "USD".into(),
        currency_decimals: 2,
        timezone: "UTC".into(),
        prices_include_tax: false,
        invoice_prefix: "INV-".into(),
    };
    assert!(s.import_store(&new).await.unwrap(), "a store with no users");
    let cashier =
        s.create_user(&a, new_user("cash@na.test", Role::Cashier), NewAudit::new("user.create")).await.unwrap();
    let other =
        s.create_user(&a, new_user("other@na.test", Role::Manager), NewAudit::new("user.create")).await.unwrap();
    for changes in [
        UserChanges { password_hash: Some("$argon2id$rehashed".into()), ..Default::default() },
        UserChanges { name: Some("Renamed".into()), ..Default::default() },
        UserChanges { role: Some(Role::Manager), ..Default::default() },
        UserChanges { active: Some(false), ..Default::default() },
        UserChanges { active: Some(true), role: Some(Role::Cashier), ..Default::default() },
    ] {
        s.update_user(&a, cashier.id, changes.clone(), None).await.unwrap_or_else(|e| panic!("{changes:?}: {e:?}"));
    }
    let u = s.get_user(&a, cashier.id).await.unwrap().unwrap();
    assert_eq!((u.name.as_str(), u.password_hash.as_str(), u.role), ("Renamed", "$argon2id$rehashed", Role::Cashier));
    s.delete_user(&a, other.id, NewAudit::new("user.delete")).await.unwrap();

    // Given an admin, the store keeps one.
    s.update_user(&a, cashier.id, UserChanges { role: Some(Role::Admin), ..Default::default() }, None).await.unwrap();
    let r = s.update_user(&a, cashier.id, UserChanges { role: Some(Role::Cashier), ..Default::default() }, None).await;
    assert!(matches!(r, Err(StorageError::Conflict(tills_domain::Conflict::LastAdmin))), "{r:?}");
    let r = s.delete_user(&a, cashier.id, NewAudit::new("user.delete")).await;
    assert!(matches!(r, Err(StorageError::Conflict(tills_domain::Conflict::LastAdmin))), "{r:?}");
    // ... while its own password and name still change.
    s.update_user(
        &a,
        cashier.id,
        UserChanges { password_hash: Some("$argon2id$again".into()), ..Default::default() },
        None,
    )
    .await
    .unwrap();
}
both_backends!(no_admin, a_store_without_an_admin);

async fn audit_log(ctx: Ctx) {
    let s = &ctx.store;
    let a = sid("audited");
    make_store(s, "audited").await;
    for i in 0..3 {
        s.append_audit(&a, NewAudit::new("login.failed").target(format!("u{i}")).detail(serde_json::json!({"i": i})))
            .await
            .unwrap();
    }
    let all = s.list_audit(&a, &AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(all.len(), 4, "store.create plus three failed logins");
    let failed = s
        .list_audit(&a, &AuditFilter { action: Some("login.failed".into()), limit: 2, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[1].detail["i"], 1);
    let next = s
        .list_audit(
            &a,
            &AuditFilter {
                action: Some("login.failed".into()),
                after: Some((failed[1].created_at, failed[1].id)),
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].target.as_deref(), Some("u2"));
}
both_backends!(audit_log_story, audit_log);

async fn platform_admins(ctx: Ctx) {
    let s = &ctx.store;
    let email = Email::parse("root@tills.test").unwrap();
    assert!(s.upsert_platform_admin(&email, "Root", "hash-1").await.unwrap());
    assert!(!s.upsert_platform_admin(&email, "Root", "hash-2").await.unwrap(), "second run resets");
    let admin = s.find_platform_admin(&email).await.unwrap().unwrap();
    assert_eq!(admin.password_hash, "hash-2");
    assert_eq!(s.get_platform_admin(admin.id).await.unwrap().unwrap().email, "root@tills.test");
}
both_backends!(platform_admins_story, platform_admins);
