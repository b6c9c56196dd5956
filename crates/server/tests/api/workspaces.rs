use nexus_testkit::{TestApp, both_engines};
use serde_json::json;

use crate::{assert_error, owner};

both_engines!(
    create_list_get_rename_delete,
    slugs_stay_unique,
    lists_paginate
);

async fn create_list_get_rename_delete(app: TestApp) {
    let (c, ws, _) = owner(&app, "owner@example.com").await;
    let got = c.get(&format!("/api/v1/workspaces/{ws}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["role"], "owner");
    assert_eq!(got.body["plan"], "free");
    assert_eq!(got.body["slug"], "acme");

    let r = c
        .patch(
            &format!("/api/v1/workspaces/{ws}"),
            json!({ "name": "  Acme Labs " }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Acme Labs");
    assert_error(
        &c.patch(&format!("/api/v1/workspaces/{ws}"), json!({ "name": "" }))
            .await,
        422,
        "validation_failed",
    );

    let me = c.get("/api/v1/me").await;
    assert_eq!(me.body["workspaces"][0]["name"], "Acme Labs");
    assert_eq!(me.body["workspaces"][0]["role"], "owner");

    assert_eq!(
        c.delete(&format!("/api/v1/workspaces/{ws}")).await.status,
        204
    );
    assert_error(
        &c.get(&format!("/api/v1/workspaces/{ws}")).await,
        404,
        "not_found",
    );
    assert_eq!(c.get("/api/v1/workspaces").await.body["items"], json!([]));
}

async fn slugs_stay_unique(app: TestApp) {
    let (c, _, _) = owner(&app, "owner@example.com").await;
    let second = c
        .post("/api/v1/workspaces", json!({ "name": "Acme" }))
        .await;
    assert_eq!(second.status, 201);
    let slug = second.body["slug"].as_str().unwrap_or_default();
    assert!(slug.starts_with("acme-") && slug.len() > 5, "{slug}");
}

async fn lists_paginate(app: TestApp) {
    let c = app.client();
    c.signup("many@example.com").await;
    for i in 0..5 {
        c.create_workspace(&format!("W{i}")).await;
    }
    let first = c.get("/api/v1/workspaces?limit=2").await;
    assert_eq!(first.body["items"].as_array().map(Vec::len), Some(2));
    let mut seen: Vec<String> = first.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| w["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut cursor = first.body["next_cursor"].as_str().map(str::to_owned);
    while let Some(cur) = cursor {
        let page = c
            .get(&format!("/api/v1/workspaces?limit=2&cursor={cur}"))
            .await;
        seen.extend(
            page.body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|w| w["name"].as_str().unwrap_or_default().to_owned()),
        );
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, ["W0", "W1", "W2", "W3", "W4"]);
    assert_error(
        &c.get("/api/v1/workspaces?limit=0").await,
        422,
        "validation_failed",
    );
    assert_error(
        &c.get("/api/v1/workspaces?cursor=nope").await,
        422,
        "validation_failed",
    );
}
