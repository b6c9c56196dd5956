//! Bad input on every route from the OpenAPI document: malformed JSON, wrong content type,
//! missing fields, wrong types, unknown enum values, invalid ids, huge bodies, huge strings
//! and control characters. Each answers 4xx with the error envelope, never 500, and leaves
//! the data as it was.

use nexus_testkit::{Client, Resp, TestApp, both_engines};
use reqwest::Method;
use serde_json::{Value, json};

use crate::cross_tenant::{Fixture, operations, snapshot, valid_body};
use crate::owner;

both_engines!(bad_input_changes_nothing);

/// Fields whose content is the caller's own business (passwords, secret values, tokens):
/// control characters there are legal, so those cases only must not fail on our side.
const FREE_TEXT: &[&str] = &[
    "password",
    "current_password",
    "new_password",
    "value",
    "token",
];

#[track_caller]
fn assert_client_error(r: &Resp, what: &str) {
    assert!(
        (400..500).contains(&r.status),
        "{what}: expected 4xx, got {}: {}",
        r.status,
        r.text
    );
    assert!(
        r.body["error"]["code"].is_string() && r.body["error"]["request_id"].is_string(),
        "{what}: no error envelope: {}",
        r.text
    );
}

fn schema_of<'a>(doc: &'a Value, method: &str, path: &str) -> Option<&'a Value> {
    let schema =
        &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    let name = schema["$ref"].as_str()?.rsplit('/').next()?;
    Some(&doc["components"]["schemas"][name])
}

/// A value of the wrong type for a property.
fn wrong_type(prop: &Value) -> Value {
    let ty = prop["type"]
        .as_str()
        .or_else(|| prop["type"][0].as_str())
        .unwrap_or("");
    match ty {
        "string" => json!(12345),
        "boolean" => json!("yes"),
        "integer" | "number" => json!("many"),
        _ => json!({ "nested": [1, 2, 3] }),
    }
}

async fn bad_input_changes_nothing(app: TestApp) {
    let (a, ws, _) = owner(&app, "a@example.com").await;
    let fixture = Fixture::build(&app, &a, &ws).await;
    let a = a.without_keep_alive();
    let doc = a.get("/api/openapi.json").await.body;
    let before = snapshot(&a, &ws).await;
    let huge = "x".repeat(100 * 1024);
    let mut free_text_cases = Vec::new();

    for (method, path) in operations(&app).await {
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let url = fixture.fill(&path);
        // Invalid ids in the path.
        for (param, bad) in [
            ("{workspace_id}", "not-a-uuid"),
            ("{user_id}", "42"),
            ("{key_id}", "%00"),
            ("{invitation_id}", "..%2F.."),
        ] {
            if path.contains(param) {
                let bad_url = fixture.fill(&path.replace(param, bad));
                let r = a
                    .call(m.clone(), &bad_url, valid_body(&method, &path))
                    .await;
                assert_client_error(&r, &format!("{method} {path} with {param}={bad}"));
            }
        }
        if let Some(params) = doc["paths"][&path][&method]["parameters"].as_array() {
            for p in params.iter().filter(|p| p["in"] == "query") {
                let name = p["name"].as_str().unwrap_or_default();
                for bad in ["abc", "-1", "%00", "99999999999999999999999"] {
                    let r = a
                        .call(m.clone(), &format!("{url}?{name}={bad}&format=csv"), None)
                        .await;
                    assert!(r.status < 500, "{method} {path}?{name}={bad}: {}", r.text);
                }
                // Not a number where one is asked for: a validation error, as in a body
                // (operator routes refuse this caller before they read the query).
                let integer = p["schema"]["type"] == "integer"
                    || p["schema"]["type"]
                        .as_array()
                        .is_some_and(|t| t.contains(&json!("integer")));
                if integer && !path.starts_with(crate::cross_tenant::OPERATOR_PREFIX) {
                    let r = a.call(m.clone(), &format!("{url}?{name}=abc"), None).await;
                    assert_eq!(r.status, 422, "{method} {path}?{name}=abc: {}", r.text);
                    assert_eq!(r.code(), "validation_failed", "{method} {path}?{name}=abc");
                }
            }
        }
        let Some(valid) = valid_body(&method, &path) else {
            continue;
        };
        if !doc["paths"][&path][&method]["requestBody"].is_object() {
            continue;
        }
        let send_raw = |body: Vec<u8>, content_type: &'static str| {
            let rb = a
                .request(m.clone(), &url)
                .header("content-type", content_type)
                .body(body);
            a.send(rb)
        };
        assert_client_error(
            &send_raw(b"{\"unterminated".to_vec(), "application/json").await,
            &format!("{method} {path} malformed"),
        );
        assert_client_error(
            &send_raw(b"[1,2,3]".to_vec(), "application/json").await,
            &format!("{method} {path} array"),
        );
        assert_client_error(
            &send_raw(serde_json::to_vec(&valid).unwrap_or_default(), "text/plain").await,
            &format!("{method} {path} text/plain"),
        );
        // Past the route's limit: the usual one, or a message's with its attachments.
        let sends = method == "post" && path.ends_with("/conversations/{conversation_id}/messages");
        let past_limit = if sends {
            nexus_ai::attachments::MAX_SEND_BODY + (1 << 20)
        } else {
            10 * 1024 * 1024
        };
        let mut ten_mb = b"{\"name\":\"".to_vec();
        ten_mb.extend(std::iter::repeat_n(b'a', past_limit));
        ten_mb.extend(b"\"}");
        // The server answers 413 after reading up to its limit and then closes the
        // connection, so the client may see its upload cut off instead of the answer.
        let rb = a
            .request(m.clone(), &url)
            .header("content-type", "application/json")
            .body(ten_mb);
        match a.try_send(rb).await {
            Ok(r) if path.starts_with(crate::cross_tenant::OPERATOR_PREFIX) => {
                assert_client_error(&r, &format!("{method} {path} 10 MB"))
            }
            Ok(r) => assert_eq!(r.status, 413, "{method} {path} 10 MB: {}", r.text),
            Err(e) => assert!(e.is_request() || e.is_body(), "{method} {path} 10 MB: {e}"),
        }

        let Some(schema) = schema_of(&doc, &method, &path) else {
            continue;
        };
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !required.is_empty() {
            assert_client_error(
                &a.call(m.clone(), &url, Some(json!({}))).await,
                &format!("{method} {path} missing fields"),
            );
        }
        let mut unknown = valid.clone();
        unknown["surprise"] = json!(true);
        assert_client_error(
            &a.call(m.clone(), &url, Some(unknown)).await,
            &format!("{method} {path} unknown field"),
        );
        for (field, prop) in schema["properties"].as_object().into_iter().flatten() {
            let mut body = valid.clone();
            body[field] = wrong_type(prop);
            assert_client_error(
                &a.call(m.clone(), &url, Some(body)).await,
                &format!("{method} {path} {field} wrong type"),
            );
            if prop["$ref"].is_string() || prop["enum"].is_array() {
                let mut body = valid.clone();
                body[field] = json!("no_such_value");
                assert_client_error(
                    &a.call(m.clone(), &url, Some(body)).await,
                    &format!("{method} {path} {field} unknown enum value"),
                );
            }
            // A NUL in any text field, sent or optional (PostgreSQL cannot store one).
            let text = prop["type"] == "string"
                || prop["type"]
                    .as_array()
                    .is_some_and(|t| t.contains(&json!("string")));
            if text {
                let mut body = valid.clone();
                body[field] = json!("a\u{0000}b");
                assert_client_error(
                    &a.call(m.clone(), &url, Some(body)).await,
                    &format!("{method} {path} {field} NUL"),
                );
            }
            if valid.get(field).is_some_and(Value::is_string) {
                let mut body = valid.clone();
                body[field] = json!(huge);
                let r = a.call(m.clone(), &url, Some(body)).await;
                if FREE_TEXT.contains(&field.as_str()) {
                    assert!(r.status < 500, "{method} {path} {field} 100 kB: {}", r.text);
                } else {
                    assert_client_error(&r, &format!("{method} {path} {field} 100 kB"));
                }
                let mut body = valid.clone();
                body[field] = json!("bad\u{0000}\u{001b}[31mvalue\u{0007}");
                if FREE_TEXT.contains(&field.as_str()) {
                    free_text_cases.push((m.clone(), url.clone(), body));
                } else {
                    let r = a.call(m.clone(), &url, Some(body)).await;
                    assert_client_error(&r, &format!("{method} {path} {field} control characters"));
                }
            }
        }
    }
    assert_eq!(
        snapshot(&a, &ws).await,
        before,
        "bad input changed something"
    );

    // Control characters in free text are stored as given, or refused; never a 500.
    for (m, url, body) in free_text_cases {
        let r: Resp = a.call(m, &url, Some(body)).await;
        assert!(r.status < 500, "{url}: {}", r.text);
    }
    let _unused: Option<Client> = None;
}
