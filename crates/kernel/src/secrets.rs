//! Per-workspace secrets: AES-256-GCM under the workspace's data key. Values go in through
//! [`put`] and out only through [`read`] (for other modules, never to API clients).

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::OnConflict,
};
use secrecy::SecretString;
use uuid::Uuid;

use crate::crypto::{Key, Keyring};
use crate::entities::{data_key, secret};
use crate::error::ApiError;

/// The associated data that ties a wrapped data key to its workspace and id.
fn data_key_aad(workspace_id: Uuid, key_id: Uuid) -> Vec<u8> {
    format!("nexus:data_key:{workspace_id}:{key_id}").into_bytes()
}

/// The associated data that ties a secret's ciphertext to its workspace and name, so rows
/// cannot be swapped between names or workspaces.
fn secret_aad(workspace_id: Uuid, name: &str) -> Vec<u8> {
    format!("nexus:secret:{workspace_id}:{name}").into_bytes()
}

/// The workspace's newest data key, creating the first one if there is none.
async fn current_data_key(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    workspace_id: Uuid,
) -> Result<(Uuid, Key), ApiError> {
    let existing = data_key::Entity::find()
        .filter(data_key::Column::WorkspaceId.eq(workspace_id))
        .order_by_desc(data_key::Column::Id)
        .one(db)
        .await?;
    if let Some(row) = existing {
        let key = keyring.unwrap_key(
            &row.master_key_id,
            &row.wrapped_key,
            &data_key_aad(workspace_id, row.id),
        )?;
        return Ok((row.id, key));
    }
    let id = Uuid::now_v7();
    let key = Key::generate();
    let (master_key_id, wrapped) = keyring.wrap(&key, &data_key_aad(workspace_id, id))?;
    data_key::Entity::insert(data_key::ActiveModel {
        workspace_id: Set(workspace_id),
        id: Set(id),
        wrapped_key: Set(wrapped),
        master_key_id: Set(master_key_id),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok((id, key))
}

/// Create or replace a secret. Returns whether it already existed.
pub async fn put(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    workspace_id: Uuid,
    name: &str,
    value: &str,
    actor: Uuid,
) -> Result<bool, ApiError> {
    let existed = find(db, workspace_id, name).await?.is_some();
    let (key_id, key) = current_data_key(db, keyring, workspace_id).await?;
    let (nonce, ciphertext) = key.seal(value.as_bytes(), &secret_aad(workspace_id, name))?;
    let now = Utc::now();
    secret::Entity::insert(secret::ActiveModel {
        workspace_id: Set(workspace_id),
        name: Set(name.to_owned()),
        ciphertext: Set(ciphertext),
        nonce: Set(nonce),
        data_key_id: Set(key_id),
        updated_by: Set(actor),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([secret::Column::WorkspaceId, secret::Column::Name])
            .update_columns([
                secret::Column::Ciphertext,
                secret::Column::Nonce,
                secret::Column::DataKeyId,
                secret::Column::UpdatedBy,
                secret::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(existed)
}

pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    name: &str,
) -> Result<Option<secret::Model>, ApiError> {
    Ok(secret::Entity::find()
        .filter(secret::Column::WorkspaceId.eq(workspace_id))
        .filter(secret::Column::Name.eq(name))
        .one(db)
        .await?)
}

pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> Result<Vec<secret::Model>, ApiError> {
    Ok(secret::Entity::find()
        .filter(secret::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(secret::Column::Name)
        .all(db)
        .await?)
}

pub async fn delete(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    name: &str,
) -> Result<bool, ApiError> {
    let res = secret::Entity::delete_many()
        .filter(secret::Column::WorkspaceId.eq(workspace_id))
        .filter(secret::Column::Name.eq(name))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Read a secret's value, for modules that need a credential (AI providers, connectors).
/// `db` must be a transaction bound to `workspace_id`.
pub async fn read(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    workspace_id: Uuid,
    name: &str,
) -> Result<Option<SecretString>, ApiError> {
    let Some(row) = find(db, workspace_id, name).await? else {
        return Ok(None);
    };
    let key_row = data_key::Entity::find()
        .filter(data_key::Column::WorkspaceId.eq(workspace_id))
        .filter(data_key::Column::Id.eq(row.data_key_id))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("secret {name} references a missing data key"))?;
    let key = keyring.unwrap_key(
        &key_row.master_key_id,
        &key_row.wrapped_key,
        &data_key_aad(workspace_id, key_row.id),
    )?;
    let plain = key.open(&row.nonce, &row.ciphertext, &secret_aad(workspace_id, name))?;
    let text =
        String::from_utf8(plain).map_err(|_| anyhow::anyhow!("secret {name} is not UTF-8"))?;
    Ok(Some(SecretString::from(text)))
}

/// Re-wrap every data key of every workspace under `new_master`, in one transaction
/// (`nexus rotate-master-key`). Row-level security is forced even for the table owner, so
/// it binds each workspace in turn.
pub async fn rewrap_all(
    db: &crate::db::Db,
    old: &Keyring,
    new_master: &Key,
) -> anyhow::Result<u64> {
    let workspaces: Vec<Uuid> = crate::entities::workspace::Entity::find()
        .all(db.conn())
        .await?
        .into_iter()
        .map(|w| w.id)
        .collect();
    let new_ring = Keyring::new(new_master.clone());
    let tx = db.begin_write().await?;
    let mut count = 0;
    for ws in workspaces {
        tx.bind_scope(crate::db::Scope {
            workspace_id: ws,
            user_id: None,
        })
        .await?;
        let keys = data_key::Entity::find()
            .filter(data_key::Column::WorkspaceId.eq(ws))
            .all(&tx)
            .await?;
        for row in keys {
            let aad = data_key_aad(ws, row.id);
            let key = old.unwrap_key(&row.master_key_id, &row.wrapped_key, &aad)?;
            let (mk_id, wrapped) = new_ring.wrap(&key, &aad)?;
            data_key::Entity::update(data_key::ActiveModel {
                workspace_id: Set(ws),
                id: Set(row.id),
                wrapped_key: Set(wrapped),
                master_key_id: Set(mk_id),
                created_at: sea_orm::ActiveValue::NotSet,
            })
            .exec(&tx)
            .await?;
            count += 1;
        }
    }
    tx.commit().await?;
    Ok(count)
}
