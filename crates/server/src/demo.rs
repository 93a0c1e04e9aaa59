//! `serve --demo`: a platform admin and a demo store with its users, ready to log in to.

use std::sync::Arc;

use tills_domain::{Email, Role, StoreId, new_id};
use tills_storage::{NewAudit, NewStore, NewUser, Store};

use crate::auth::password;

pub const DEMO_STORE: &str = "demo";
pub const DEMO_PASSWORD: &str = "tills-demo-1";
pub const PLATFORM_EMAIL: &str = "platform@tills.local";

pub struct Demo {
    pub store: String,
}

impl Demo {
    pub fn instructions(&self, base: &str) -> String {
        format!(
            "Tills demo is running at {base}\n\n\
             Store '{store}', password '{pw}' for every account:\n\
             \x20 admin    owner@demo.tills\n\
             \x20 manager  manager@demo.tills\n\
             \x20 cashier  cashier@demo.tills\n\
             Platform admin: {platform} (no store)\n\n\
             Log in with curl:\n\
             \x20 curl -s {base}/api/v1/auth/login -H 'content-type: application/json' \\\n\
             \x20   -d '{{\"store\":\"{store}\",\"email\":\"cashier@demo.tills\",\"password\":\"{pw}\"}}'\n",
            store = self.store,
            pw = DEMO_PASSWORD,
            platform = PLATFORM_EMAIL,
        )
    }
}

/// Creates what is missing; running it again changes nothing.
pub async fn bootstrap(store: &Arc<dyn Store>) -> anyhow::Result<Demo> {
    let hash = password::hash(DEMO_PASSWORD.to_owned()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let platform = Email::parse(PLATFORM_EMAIL).map_err(|e| anyhow::anyhow!("{e}"))?;
    if store.find_platform_admin(&platform).await?.is_none() {
        store.upsert_platform_admin(&platform, "Platform admin", &hash).await?;
    }
    let id = StoreId::parse(DEMO_STORE).map_err(|e| anyhow::anyhow!("{e}"))?;
    if store.get_store(&id).await?.is_none() {
        let new = NewStore {
            id: id.clone(),
            name: "Tills Demo Market".into(),
            currency: "EUR".into(),
            currency_decimals: 2,
            timezone: "Europe/Berlin".into(),
            prices_include_tax: true,
            invoice_prefix: "DEMO-".into(),
        };
        let user = |email: &str, name: &str, role| -> anyhow::Result<NewUser> {
            Ok(NewUser {
                id: new_id(),
                email: Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?,
                name: name.into(),
                role,
                password_hash: hash.clone(),
            })
        };
        store
            .create_store(new, user("owner@demo.tills", "Olivia Owner", Role::Admin)?, NewAudit::new("store.create"))
            .await?;
        for (email, name, role) in [
            ("manager@demo.tills", "Max Manager", Role::Manager),
            ("cashier@demo.tills", "Cara Cashier", Role::Cashier),
        ] {
            store.create_user(&id, user(email, name, role)?, NewAudit::new("user.create")).await?;
        }
    }
    Ok(Demo { store: DEMO_STORE.to_owned() })
}
