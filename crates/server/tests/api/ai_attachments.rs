//! Attachments: images and text files sent with a message reach the model with it and
//! with every later turn (also after an edit or a regeneration), can be downloaded by the
//! conversation's readers, and go with their message; bad ones are refused, changing
//! nothing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use nexus_testkit::fake_ai::FakeAi;
use nexus_testkit::{Client, TestApp, both_engines, member_with_role};
use reqwest::Method;
use serde_json::{Value, json};

use crate::ai_support::{ai_owner, share_with_workspace};
use crate::assert_error;

both_engines!(
    files_reach_the_model_and_come_back,
    bad_files_change_nothing
);

/// The smallest of PNGs: its signature and a few bytes (the server checks the signature;
/// the fake provider looks at nothing more).
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];

fn messages_url(ws: &str, conv: &str) -> String {
    format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages")
}

fn png(name: &str) -> Value {
    json!({ "name": name, "media_type": "image/png", "data": STANDARD.encode(PNG) })
}

fn text_file(name: &str, words: &str) -> Value {
    json!({ "name": name, "media_type": "text/markdown", "data": STANDARD.encode(words) })
}

/// The last request's user messages as the fake provider got them.
fn user_messages(fake: &FakeAi) -> Vec<Value> {
    let last = fake.requests().last().cloned().expect("a request");
    last["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "user")
        .cloned()
        .collect()
}

fn images_in(message: &Value) -> Vec<String> {
    message["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["image_url"]["url"].as_str().map(str::to_owned))
        .collect()
}

async fn download(c: &Client, url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = c
        .request(Method::GET, url)
        .send()
        .await
        .expect("the download");
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (
        status,
        headers,
        r.bytes().await.expect("its bytes").to_vec(),
    )
}

async fn files_reach_the_model_and_come_back(app: TestApp) {
    let (fake, o, ws, conv) = ai_owner(&app, "With files").await;
    let url = messages_url(&ws, &conv);
    let r = o
        .post(
            &url,
            json!({ "content": "What is in these?", "attachments": [
                png("C:\\Users\\me\\shot.png"),
                text_file("notes.md", "# Plan\nShip it."),
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let question = r.body["user_message"].clone();
    assert_eq!(
        question["attachments"],
        json!([
            { "name": "shot.png", "media_type": "image/png", "size": PNG.len() },
            { "name": "notes.md", "media_type": "text/markdown", "size": 15 },
        ])
    );
    let the_image = vec![format!("data:image/png;base64,{}", STANDARD.encode(PNG))];
    let sent = user_messages(&fake);
    assert_eq!(
        sent[0]["content"][0]["text"],
        "What is in these?\n\n<file name=\"notes.md\">\n# Plan\nShip it.\n</file>"
    );
    assert_eq!(images_in(&sent[0]), the_image);

    // The list shows them; each downloads as what it is.
    let list = o.get(&url).await;
    assert_eq!(
        list.body["items"][0]["attachments"],
        question["attachments"]
    );
    let qid = question["id"].as_str().expect("id").to_owned();
    let (status, headers, bytes) = download(&o, &format!("{url}/{qid}/attachments/0")).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, PNG);
    assert_eq!(headers["content-type"], "image/png");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap_or_default()
            .contains("sandbox")
    );
    assert_eq!(
        headers["content-disposition"],
        "inline; filename*=UTF-8''shot.png"
    );
    let (status, headers, bytes) = download(&o, &format!("{url}/{qid}/attachments/1")).await;
    assert_eq!((status, bytes.as_slice()), (200, &b"# Plan\nShip it."[..]));
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename*=UTF-8''notes.md"
    );
    let (status, _, _) = download(&o, &format!("{url}/{qid}/attachments/2")).await;
    assert_eq!(status, 404);

    // A later turn sends the image again, with the earlier question; an image alone
    // needs no words.
    let r = o
        .post(
            &url,
            json!({ "content": "", "attachments": [png("b.png")] }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let second = r.body["assistant_message"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let sent = user_messages(&fake);
    assert_eq!(sent.len(), 2);
    assert_eq!(images_in(&sent[0]), the_image);
    assert_eq!(images_in(&sent[1]), the_image);

    // Answered again, the question goes with its image.
    let r = o
        .post(&format!("{url}/{second}/regenerate"), json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(images_in(&user_messages(&fake)[1]), the_image);

    // Edited, the first question keeps its files; the new version has them too.
    let r = o
        .post(
            &format!("{url}/{qid}/edit"),
            json!({ "content": "And now?" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let edited = r.body["user_message"].clone();
    assert_eq!(edited["attachments"], question["attachments"]);
    let sent = user_messages(&fake);
    assert_eq!(sent.len(), 1);
    assert_eq!(images_in(&sent[0]), the_image);
    assert!(
        sent[0]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Ship it.")
    );
    let eid = edited["id"].as_str().expect("id").to_owned();
    let (status, _, bytes) = download(&o, &format!("{url}/{eid}/attachments/0")).await;
    assert_eq!((status, bytes.as_slice()), (200, PNG));

    // The Markdown export names them; the JSON export lists them, and a question of files
    // alone comes back from an import as their names.
    let export = format!("/api/v1/workspaces/{ws}/conversations/{conv}/export");
    let md = o.get(&export).await;
    assert!(
        md.text.contains("_Attached: shot.png, notes.md_"),
        "{}",
        md.text
    );
    let exported = o.get(&format!("{export}?format=json")).await.body;
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/import"),
            exported,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let copy = r.body["id"].as_str().expect("id").to_owned();
    let all = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations/{copy}/export?format=json"
        ))
        .await
        .body;
    let words: Vec<&str> = all["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(words.contains(&"[Attached: b.png]"), "{words:?}");
    assert!(words.contains(&"What is in these?"), "{words:?}");

    // Private, the conversation's files are nobody else's to download.
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    let file = format!("{url}/{eid}/attachments/0");
    assert_error(&m.get(&file).await, 404, "not_found");

    // Shared with the workspace, a viewer downloads them; another workspace cannot.
    share_with_workspace(&o, &ws, &conv).await;
    let (v, _) = member_with_role(&app.base, &o, &ws, "v@example.com", "viewer").await;
    assert_eq!(download(&v, &file).await.0, 200);
    assert_eq!(download(&m, &file).await.0, 200);
    let (x, _, _) = crate::owner(&app, "x@example.com").await;
    assert_error(&x.get(&file).await, 404, "not_found");

    // Deleted, the message takes its files.
    assert_eq!(o.delete(&format!("{url}/{eid}")).await.status, 204);
    assert_error(&o.get(&file).await, 404, "not_found");
}

async fn bad_files_change_nothing(app: TestApp) {
    let (fake, o, ws, conv) = ai_owner(&app, "Refused").await;
    let url = messages_url(&ws, &conv);
    let lying = json!({ "name": "x.png", "media_type": "image/png", "data": STANDARD.encode("<svg onload=alert(1)>") });
    let binary = json!({ "name": "x.bin", "media_type": "application/octet-stream", "data": STANDARD.encode([0u8, 159, 146, 150]) });
    let huge = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]
        .into_iter()
        .chain(std::iter::repeat_n(0u8, 5 << 20))
        .collect::<Vec<u8>>();
    let huge =
        json!({ "name": "big.png", "media_type": "image/png", "data": STANDARD.encode(huge) });
    let cases = [
        (json!([lying]), "attachments[0].data"),
        (json!([png("a.png"), binary]), "attachments[1].data"),
        (json!([huge]), "attachments[0].data"),
        (
            json!([{ "name": "a.png", "media_type": "image/png", "data": "not base64!" }]),
            "attachments[0].data",
        ),
        (
            json!([{ "name": "", "media_type": "text/plain", "data": "aGk=" }]),
            "attachments[0].name",
        ),
        (
            json!((0..9).map(|i| png(&format!("{i}.png"))).collect::<Vec<_>>()),
            "attachments",
        ),
    ];
    for (attachments, field) in cases {
        let r = o
            .post(
                &url,
                json!({ "content": "look", "attachments": attachments }),
            )
            .await;
        assert_eq!(r.status, 422, "{field}: {}", r.text);
        assert!(
            r.body["error"]["details"]["fields"][field].is_string(),
            "{field}: {}",
            r.text
        );
    }
    let r = o
        .post(&url, json!({ "content": " ", "attachments": [] }))
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = o
        .post(
            &url,
            json!({ "content": "x", "attachments": [{ "name": "a", "data": "aGk=" }] }),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    // Past what any message may carry: refused before it is read in full.
    let r = o
        .post(&url, json!({ "content": "x", "pad": "a".repeat(31 << 20) }))
        .await;
    assert_eq!(r.status, 413, "{}", r.text);
    // Someone who may not send is told so before any file is looked at.
    let (v, _) = member_with_role(&app.base, &o, &ws, "v@example.com", "viewer").await;
    let r = v
        .post(&url, json!({ "content": "x", "attachments": [{ "name": "a", "media_type": "image/png", "data": "***" }] }))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // None of it reached the model or the conversation.
    assert!(fake.requests().is_empty());
    let list = o.get(&url).await;
    assert_eq!(list.body["items"], json!([]));
}
