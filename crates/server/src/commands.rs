//! The non-serving commands: create an operator, rotate the master key.

use chrono::Utc;
use nexus_identity::domain::{Email, check_password};
use nexus_identity::entities::user;
use nexus_kernel::config::Settings;
use nexus_kernel::crypto::{Key, Keyring, pending_path, write_key_file};
use nexus_kernel::db::Db;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

/// Make `email` a platform operator, creating the account if it does not exist.
pub async fn create_admin(
    settings: &Settings,
    email: &str,
    password: Option<String>,
) -> anyhow::Result<String> {
    let email = Email::parse("email", email)
        .map_err(|_| anyhow::anyhow!("{email:?} is not an email address"))?;
    crate::bootstrap::migrate(settings).await?;
    let db = Db::connect(&settings.database_url(), 2, 1).await?;
    let existing = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db.conn())
        .await?;
    if let Some(u) = existing {
        user::Entity::update_many()
            .col_expr(user::Column::IsSystemAdmin, Expr::value(true))
            .filter(user::Column::Id.eq(u.id))
            .exec(db.conn())
            .await?;
        return Ok(format!("{} is now a platform operator", email.as_str()));
    }
    let password = password.ok_or_else(|| {
        anyhow::anyhow!(
            "no account for {} yet: set NEXUS_ADMIN_PASSWORD (8+ characters) to create it",
            email.as_str()
        )
    })?;
    check_password("password", &password)
        .map_err(|_| anyhow::anyhow!("the password must be 8 to 256 characters"))?;
    let hash = nexus_identity::password::hash(password).await?;
    let now = Utc::now();
    let name = email
        .as_str()
        .split('@')
        .next()
        .unwrap_or("admin")
        .to_owned();
    user::Entity::insert(user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        name: Set(name),
        password_hash: Set(hash),
        is_system_admin: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db.conn())
    .await?;
    Ok(format!("created platform operator {}", email.as_str()))
}

/// Generate a new master key and re-wrap every workspace data key under it.
///
/// With a key file: the new key is first written beside the old one (`.new`), the data
/// keys are re-wrapped in one transaction, then the new file replaces the old. A crash at
/// any point leaves a state the server can start from, because it loads a pending `.new`
/// key too. With `NEXUS_MASTER_KEY`: the new key is printed for the operator to store.
pub async fn rotate_master_key(settings: &Settings) -> anyhow::Result<String> {
    let old = Keyring::load(settings.master_key.as_ref(), &settings.master_key_file())?;
    let db = Db::connect(
        &settings
            .migration_database_url
            .clone()
            .unwrap_or_else(|| settings.database_url()),
        2,
        1,
    )
    .await?;
    let new_key = Key::generate();
    let file = settings.master_key_file();
    if settings.master_key.is_none() {
        write_key_file(&pending_path(&file), &new_key)?;
    }
    let count = nexus_kernel::secrets::rewrap_all(&db, &old, &new_key).await?;
    if settings.master_key.is_some() {
        return Ok(format!(
            "re-wrapped {count} data keys under master key {}.\nSet NEXUS_MASTER_KEY to this new value before restarting:\n{}",
            new_key.id(),
            new_key.to_base64()
        ));
    }
    std::fs::rename(pending_path(&file), &file)?;
    Ok(format!(
        "re-wrapped {count} data keys; {} now holds master key {}",
        file.display(),
        new_key.id()
    ))
}
