//! The role × permission matrix, generated from `Permission::ALL`: every role is probed
//! for every permission with a request that needs exactly that permission.

use nexus_kernel::roles::{Permission, Role, permissions_markdown};
use nexus_testkit::{Client, TestApp, both_engines, member_with_role};
use reqwest::Method;
use serde_json::{Value, json};

both_engines!(every_role_gets_exactly_its_permissions);

/// The request that exercises a permission. The match is exhaustive on purpose: a new
/// permission does not compile until it has a probe here.
fn probe(p: Permission, ws: &str, target: &str) -> (Method, String, Option<Value>) {
    let w = format!("/api/v1/workspaces/{ws}");
    match p {
        Permission::ReadWorkspace => (Method::GET, w, None),
        Permission::RenameWorkspace => (Method::PATCH, w, Some(json!({ "name": "Renamed" }))),
        Permission::DeleteWorkspace => (Method::DELETE, w, None),
        Permission::ReadMembers => (Method::GET, format!("{w}/members"), None),
        Permission::InviteMembers => (
            Method::POST,
            format!("{w}/invitations"),
            Some(
                json!({ "email": format!("p{}@example.com", uuid::Uuid::new_v4().simple()), "role": "viewer" }),
            ),
        ),
        Permission::ManageMembers => (
            Method::PATCH,
            format!("{w}/members/{target}"),
            Some(json!({ "role": "viewer" })),
        ),
        Permission::ReadApiKeys => (Method::GET, format!("{w}/api-keys"), None),
        Permission::ManageApiKeys => (
            Method::POST,
            format!("{w}/api-keys"),
            Some(json!({ "name": "probe", "role": "viewer" })),
        ),
        Permission::ReadAuditLog => (Method::GET, format!("{w}/audit-events"), None),
        Permission::ReadSecrets => (Method::GET, format!("{w}/secrets"), None),
        Permission::ManageSecrets => (
            Method::PUT,
            format!("{w}/secrets/PROBE"),
            Some(json!({ "value": "x" })),
        ),
        Permission::ManageModules => (
            Method::PUT,
            format!("{w}/modules/crm"),
            Some(json!({ "enabled": true })),
        ),
        Permission::UseAssistant => (Method::POST, format!("{w}/conversations"), Some(json!({}))),
        Permission::ManageAi => (Method::PUT, format!("{w}/ai/settings"), Some(json!({}))),
        Permission::ReadAiUsage => (Method::GET, format!("{w}/ai/usage"), None),
    }
}

async fn every_role_gets_exactly_its_permissions(app: TestApp) {
    for role in Role::ALL {
        let owner = app.client();
        owner
            .signup(&format!("owner-{}@example.com", role.as_str()))
            .await;
        let ws = owner.create_workspace("Matrix").await;
        // The assistant on, with a provider configured (it is never called here).
        owner
            .put(
                &format!("/api/v1/workspaces/{ws}/modules/assistant"),
                json!({ "enabled": true }),
            )
            .await;
        let r = owner
            .post(
                &format!("/api/v1/workspaces/{ws}/ai/providers"),
                json!({ "name": "Stub", "base_url": "http://127.0.0.1:9/v1", "models": ["stub"] }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        // The assistant on, with a provider configured (it is never called here).
        owner
            .put(
                &format!("/api/v1/workspaces/{ws}/modules/assistant"),
                json!({ "enabled": true }),
            )
            .await;
        let r = owner
            .post(
                &format!("/api/v1/workspaces/{ws}/ai/providers"),
                json!({ "name": "Stub", "base_url": "http://127.0.0.1:9/v1", "models": ["stub"] }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let (_, target) = member_with_role(
            &app.base,
            &owner,
            &ws,
            &format!("target-{}@example.com", role.as_str()),
            "viewer",
        )
        .await;
        let caller: Client = if role == Role::Owner {
            owner.clone()
        } else {
            member_with_role(
                &app.base,
                &owner,
                &ws,
                &format!("{}@example.com", role.as_str()),
                role.as_str(),
            )
            .await
            .0
        };
        // Deleting comes last: it ends the workspace.
        let mut perms: Vec<_> = Permission::ALL
            .iter()
            .map(|(p, min, _)| (*p, *min))
            .collect();
        perms.sort_by_key(|(p, _)| *p == Permission::DeleteWorkspace);
        for (permission, min) in perms {
            let (method, path, body) = probe(permission, &ws, &target);
            let r = caller.call(method.clone(), &path, body).await;
            if role >= min {
                assert!(
                    (200..300).contains(&r.status),
                    "{role:?} should {permission:?} ({method} {path}): {}",
                    r.text
                );
            } else {
                assert_eq!(
                    r.status, 403,
                    "{role:?} must not {permission:?} ({method} {path}): {}",
                    r.text
                );
                assert_eq!(r.code(), "forbidden");
            }
        }
    }
}

#[test]
fn the_permissions_doc_is_generated_from_the_matrix() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/permissions.md");
    let expected = permissions_markdown();
    if std::env::var("UPDATE_SNAPSHOTS").is_ok() {
        std::fs::write(path, &expected).expect("write docs/permissions.md");
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/permissions.md is stale: run `UPDATE_SNAPSHOTS=1 cargo nextest run -E 'test(permissions_doc)'`"
    );
}
