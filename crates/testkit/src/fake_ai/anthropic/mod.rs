//! The fake's Anthropic side: `POST /v1/messages` (the Messages API, streamed as its typed
//! events or answered as one JSON message) and `GET /v1/models` when the request carries
//! `anthropic-version`. It refuses what the real API refuses ([`request`]), so a wrong
//! translation fails here rather than against Anthropic.

mod events;
mod request;

use super::*;
use request::MessagesRequest;

/// How much of `req`'s prompt the cache serves (the longest marked prefix seen before)
/// and writes (the rest up to its last mark).
fn settle(cache: &PromptCache, req: &mut MessagesRequest) {
    let (read, last_seen) = cache.lookup(&req.breakpoints);
    req.cache_read = read;
    req.cache_written = match req.breakpoints.last() {
        Some(last) if !last_seen => last.tokens - read,
        _ => 0,
    };
}

/// Usage as Anthropic reports it: `input_tokens` are the ones neither read from nor
/// written to the cache.
fn usage(req: &MessagesRequest, output_tokens: u64) -> Value {
    json!({
        "input_tokens": req.prompt_tokens - req.cache_read - req.cache_written,
        "cache_creation_input_tokens": req.cache_written,
        "cache_read_input_tokens": req.cache_read,
        "output_tokens": output_tokens,
    })
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({"type": "error", "error": {"type": kind, "message": message}});
    (status, Json(body)).into_response()
}

pub(super) fn is_anthropic(headers: &HeaderMap) -> bool {
    headers.contains_key("anthropic-version")
}

/// The 401 answer, unless the request carries the expected `x-api-key` (or none is set);
/// the 400 answer without `anthropic-version`.
fn refused(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    if !is_anthropic(headers) {
        let msg = "anthropic-version: header is required";
        return Some(error(StatusCode::BAD_REQUEST, "invalid_request_error", msg));
    }
    let key = shared.api_key.as_deref()?;
    let given = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    (given != Some(key)).then(|| {
        error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid x-api-key",
        )
    })
}

pub(super) fn list_models(shared: &Shared, headers: &HeaderMap) -> Response {
    if let Some(denied) = refused(shared, headers) {
        return denied;
    }
    let models = lock(&shared.models).clone();
    let data: Vec<Value> = models
        .iter()
        .map(|id| json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-01-01T00:00:00Z"}))
        .collect();
    Json(json!({
        "data": data,
        "has_more": false,
        "first_id": models.first(),
        "last_id": models.last(),
    }))
    .into_response()
}

fn status_response(code: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(code)
        .ok()
        .filter(|s| !s.is_informational())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (kind, message) = match status.as_u16() {
        401 => ("authentication_error", "invalid x-api-key"),
        404 => ("not_found_error", "Not found."),
        429 => (
            "rate_limit_error",
            "Number of requests has exceeded your rate limit.",
        ),
        529 => ("overloaded_error", "Overloaded"),
        500..=599 => ("api_error", "Internal server error"),
        _ => ("invalid_request_error", "The request was rejected."),
    };
    let mut response = error(status, kind, message);
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, secs.into());
    }
    response
}

pub(super) async fn create_message(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = record(&shared, &body);
    if let Some(denied) = refused(&shared, &headers) {
        return denied;
    }
    let mut req = match parsed.as_ref().map(MessagesRequest::read) {
        None => {
            let msg = "There was an issue with your request body: it is not valid JSON.";
            return error(StatusCode::BAD_REQUEST, "invalid_request_error", msg);
        }
        Some(Err(msg)) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", &msg),
        Some(Ok(req)) => req,
    };
    if !lock(&shared.models).contains(&req.model) {
        let msg = format!("model: {}", req.model);
        return error(StatusCode::NOT_FOUND, "not_found_error", &msg);
    }
    settle(&shared.prompt_cache, &mut req);
    let (seq, mut answer) = match next_answer(&shared, &req.last_user).await {
        Next::Status { code, retry_after } => return status_response(code, retry_after),
        Next::Answer { seq, answer } => (seq, answer),
    };
    if let Payload::Tool { id, .. } = &mut answer.payload {
        *id = format!("toolu_fake{seq:08}");
    }
    let id = format!("msg_fake{seq:08}");
    if req.stream {
        events::stream(shared, id, req, answer)
    } else {
        whole(id, req, answer).await
    }
}

fn stop_reason(answer: &Answer) -> &'static str {
    match answer.payload {
        _ if answer.length_limited => "max_tokens",
        Payload::Text(_) => "end_turn",
        Payload::Tool { .. } => "tool_use",
    }
}

/// The answer's last content block: its text, or its tool call (`filled`: with the
/// input, as in a whole message; else empty, as at a streamed block's start).
fn content_block(answer: &Answer, filled: bool) -> Value {
    match &answer.payload {
        Payload::Text(text) => {
            json!({"type": "text", "text": if filled { text.as_str() } else { "" }})
        }
        Payload::Tool {
            id,
            name,
            arguments,
            ..
        } => {
            let input = if filled {
                serde_json::from_str(arguments).unwrap_or_else(|_| json!({}))
            } else {
                json!({})
            };
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
    }
}

/// A whole message's content: the thinking, what is said before a tool call, the answer.
fn content_blocks(answer: &Answer) -> Value {
    let mut blocks = Vec::new();
    if !answer.reasoning.is_empty() {
        blocks.push(json!({"type": "thinking", "thinking": answer.reasoning, "signature": "fake-signature"}));
    }
    if !answer.preface().is_empty() {
        blocks.push(json!({"type": "text", "text": answer.preface()}));
    }
    blocks.push(content_block(answer, true));
    Value::Array(blocks)
}

/// The answer as one JSON message (`"stream": false`).
async fn whole(id: String, req: MessagesRequest, answer: Answer) -> Response {
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let mut body = json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": req.model,
        "content": content_blocks(&answer),
        "stop_reason": stop_reason(&answer),
        "stop_sequence": null,
    });
    if answer.usage {
        body["usage"] = usage(&req, answer.completion_tokens());
    }
    if answer.abort_after.is_none() {
        return Json(body).into_response();
    }
    half_then_hang_up(&body)
}

#[cfg(test)]
mod tests;
