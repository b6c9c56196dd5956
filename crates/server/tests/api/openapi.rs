use nexus_testkit::{Engine, TestApp};

/// The committed document (used to generate the web app's client) must match the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_complete_and_committed() {
    let Some(app) = TestApp::spawn(Engine::Sqlite).await else {
        return;
    };
    let r = app.client().get("/api/openapi.json").await;
    assert_eq!(r.status, 200);
    let doc = &r.body;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20, "{} paths", paths.len());
    for (path, item) in paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has no tag"
            );
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path} has no summary"
            );
        }
    }
    let pretty = serde_json::to_string_pretty(doc).expect("json") + "\n";
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api/openapi.json");
    if std::env::var("UPDATE_SNAPSHOTS").is_ok() {
        std::fs::create_dir_all(std::path::Path::new(file).parent().expect("dir")).expect("mkdir");
        std::fs::write(file, &pretty).expect("write");
    }
    let committed = std::fs::read_to_string(file).unwrap_or_default();
    assert!(
        committed == pretty,
        "docs/api/openapi.json is stale: run `UPDATE_SNAPSHOTS=1 cargo nextest run -E 'test(openapi_document)'`"
    );

    let docs = app.client().get("/api/docs").await;
    assert_eq!(docs.status, 200);
    assert!(
        docs.text.contains("/api/docs/app.js") && !docs.text.contains("https://"),
        "the docs page works offline"
    );
    assert_eq!(app.client().get("/api/docs/app.js").await.status, 200);
}
