//! The fake's OpenAI side: `POST /v1/chat/completions`, answered as one JSON completion
//! or streamed as Server-Sent Events of `chat.completion.chunk`s, with the quirks real
//! OpenAI-compatible servers have; and OpenAI's error bodies.

use super::*;

fn openai_error(status: StatusCode, message: &str, kind: &str, code: Option<&str>) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (status, Json(body)).into_response()
}

/// The 401 answer, unless the request carries the expected bearer key (or none is set).
pub(super) fn unauthorized(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let key = shared.api_key.as_deref()?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    (given != Some(key)).then(|| {
        openai_error(
            StatusCode::UNAUTHORIZED,
            "Incorrect API key provided.",
            "invalid_request_error",
            Some("invalid_api_key"),
        )
    })
}

pub(super) async fn unknown_route() -> Response {
    openai_error(
        StatusCode::NOT_FOUND,
        "Unknown request URL.",
        "invalid_request_error",
        Some("unknown_url"),
    )
}

fn status_response(code: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(code)
        .ok()
        .filter(|s| !s.is_informational())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (message, kind, code) = match status.as_u16() {
        401 => (
            "Incorrect API key provided.",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        404 => ("Not found.", "invalid_request_error", Some("not_found")),
        429 => (
            "Rate limit reached, please try again later.",
            "requests",
            Some("rate_limit_exceeded"),
        ),
        503 => (
            "The engine is currently overloaded, please try again later.",
            "server_error",
            None,
        ),
        500..=599 => (
            "The server had an error while processing your request.",
            "server_error",
            None,
        ),
        _ => ("The request was rejected.", "invalid_request_error", None),
    };
    let mut response = openai_error(status, message, kind, code);
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, secs.into());
    }
    response
}

/// What the fake needs from a chat request.
struct ChatRequest {
    model: String,
    stream: bool,
    include_usage: bool,
    prompt_tokens: u64,
    last_user: String,
    /// Every prefix of whole messages, for OpenAI's automatic prompt cache.
    prefixes: Vec<Prefix>,
    /// Of `prompt_tokens`, those read from that cache (the longest prefix seen before).
    cached_tokens: u64,
}

impl ChatRequest {
    fn read(body: &Value) -> Result<Self, &'static str> {
        let model = body["model"]
            .as_str()
            .ok_or("you must provide a model parameter")?;
        let messages = body["messages"]
            .as_array()
            .ok_or("'messages' is a required property")?;
        let words: u64 = messages
            .iter()
            .map(|m| count_words(&content_text(&m["content"])))
            .sum();
        let last_user = messages
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .map(|m| content_text(&m["content"]))
            .unwrap_or_default();
        let mut key = format!("openai:{model}");
        let mut tokens = 0;
        let prefixes = messages
            .iter()
            .map(|m| {
                key.push('\n');
                key.push_str(&m.to_string());
                tokens += count_words(&content_text(&m["content"]));
                Prefix {
                    key: key.clone(),
                    tokens,
                }
            })
            .collect();
        let stream = body["stream"].as_bool().unwrap_or(false);
        Ok(Self {
            model: model.to_owned(),
            stream,
            include_usage: stream && body["stream_options"]["include_usage"] == true,
            prompt_tokens: words + PROMPT_OVERHEAD,
            last_user,
            prefixes,
            cached_tokens: 0,
        })
    }
}

pub(super) async fn create_chat_completion(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let read = record(&shared, &body).as_ref().map(ChatRequest::read);
    if let Some(denied) = unauthorized(&shared, &headers) {
        return denied;
    }
    let mut req = match read {
        None => {
            let msg = "We could not parse the JSON body of your request.";
            return openai_error(StatusCode::BAD_REQUEST, msg, "invalid_request_error", None);
        }
        Some(Err(msg)) => {
            return openai_error(StatusCode::BAD_REQUEST, msg, "invalid_request_error", None);
        }
        Some(Ok(req)) => req,
    };
    if !lock(&shared.models).contains(&req.model) {
        return openai_error(
            StatusCode::NOT_FOUND,
            &format!("The model `{}` does not exist", req.model),
            "invalid_request_error",
            Some("model_not_found"),
        );
    }
    // Client mistakes (auth, model) above leave the queue alone; valid requests consume it.
    let (seq, answer) = match next_answer(&shared, &req.last_user).await {
        Next::Status { code, retry_after } => return status_response(code, retry_after),
        Next::Answer { seq, answer } => (seq, answer),
    };
    req.cached_tokens = shared.prompt_cache.lookup(&req.prefixes).0;
    let call = Call {
        id: format!("chatcmpl-fake{seq:08}"),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        req,
    };
    if call.req.stream {
        respond_sse(shared, call, answer)
    } else {
        respond_json(call, answer).await
    }
}

struct Call {
    id: String,
    created: u64,
    req: ChatRequest,
}

/// Usage as OpenAI reports it; `prompt_tokens_details` only when some prompt tokens came
/// from its cache (servers other than OpenAI's leave it out).
fn usage_json(prompt: u64, completion: u64, cached: u64) -> Value {
    let mut usage = json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    });
    if cached > 0 {
        usage["prompt_tokens_details"] = json!({ "cached_tokens": cached });
    }
    usage
}

async fn respond_json(call: Call, answer: Answer) -> Response {
    if !answer.delay.is_zero() {
        let (mut rest, mut pieces) = (answer.streamed(), 0u32);
        while !rest.is_empty() {
            rest = &rest[next_piece(rest, answer.piece_chars())..];
            pieces += 1;
        }
        tokio::time::sleep(answer.delay * pieces.max(1)).await;
    }
    let mut message = match &answer.payload {
        Payload::Text(text) => json!({"role": "assistant", "content": text}),
        Payload::Tool {
            preface,
            id,
            name,
            arguments,
        } => {
            json!({"role": "assistant", "content": (!preface.is_empty()).then_some(preface), "tool_calls": [
                {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}
            ]})
        }
    };
    if !answer.reasoning.is_empty() {
        message["reasoning_content"] = json!(answer.reasoning);
    }
    let mut body = json!({
        "id": call.id,
        "object": "chat.completion",
        "created": call.created,
        "model": call.req.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": answer.finish_reason(),
        }],
    });
    if answer.usage {
        body["usage"] = usage_json(
            call.req.prompt_tokens,
            answer.completion_tokens(),
            call.req.cached_tokens,
        );
    }
    if answer.abort_after.is_none() {
        return Json(body).into_response();
    }
    half_then_hang_up(&body)
}

fn respond_sse(shared: Arc<Shared>, call: Call, answer: Answer) -> Response {
    let q = &answer.quirks;
    let mut head = String::from("data: {");
    if !q.missing_ids {
        head.push_str(&format!(r#""id":"{}","#, call.id));
    }
    head.push_str(r#""object":"chat.completion.chunk","#);
    if !q.missing_ids {
        head.push_str(&format!(r#""created":{},"#, call.created));
    }
    head.push_str(&format!(
        r#""model":{},"#,
        Value::from(call.req.model.as_str())
    ));
    let usage = (call.req.include_usage && answer.usage).then(|| {
        usage_json(
            call.req.prompt_tokens,
            answer.completion_tokens(),
            call.req.cached_tokens,
        )
    });
    let usage_field = if q.empty_usage_objects {
        r#","usage":{}"#
    } else if call.req.include_usage {
        r#","usage":null"#
    } else {
        ""
    };
    let state = SseStream {
        head,
        nl: if q.crlf { "\r\n" } else { "\n" },
        usage_field,
        usage,
        answer,
        progress: Progress::default(),
        step: Step::Role,
        keep_alive_due: false,
        guard: StreamGuard::open(shared),
    };
    sse_response(futures::stream::unfold(state, |mut s| async move {
        let event = s.next_event().await?;
        Some((event, s))
    }))
}

#[derive(Clone, Copy)]
enum Step {
    Role,
    /// The reasoning's words, from this byte offset on.
    Reasoning(usize),
    Pieces,
    Finish,
    Usage,
    Done,
    End,
}

struct SseStream {
    /// `data: {"id":…,"object":…,"created":…,"model":…,`: the start of every event.
    head: String,
    nl: &'static str,
    /// Appended to every choice chunk: `,"usage":null`, `,"usage":{}` or nothing.
    usage_field: &'static str,
    /// The final usage chunk's `usage`, when one is due.
    usage: Option<Value>,
    answer: Answer,
    /// Byte offset in the streamed text, and pieces sent so far.
    progress: Progress,
    step: Step,
    keep_alive_due: bool,
    guard: StreamGuard,
}

impl SseStream {
    async fn next_event(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if std::mem::take(&mut self.keep_alive_due) && !matches!(self.step, Step::End) {
            let crlf = self.nl == "\r\n";
            return Some(Ok(Bytes::from_static(if crlf {
                b": keep-alive\r\n\r\ndata:\r\n\r\n"
            } else {
                b": keep-alive\n\ndata:\n\n"
            })));
        }
        self.keep_alive_due = self.answer.quirks.keep_alive_comments;
        loop {
            match self.step {
                Step::Role => {
                    self.answer.pause().await;
                    self.step = Step::Reasoning(0);
                    return Some(Ok(self.role_event()));
                }
                Step::Reasoning(pos) => {
                    let rest = &self.answer.reasoning[pos..];
                    if rest.is_empty() {
                        self.step = Step::Pieces;
                        continue;
                    }
                    if pos > 0 {
                        self.answer.pause().await;
                    }
                    let len = next_piece(rest, None);
                    self.step = Step::Reasoning(pos + len);
                    return Some(Ok(self.reasoning_event(&rest[..len])));
                }
                Step::Pieces => {
                    let piece = self.answer.next_streamed_piece(&mut self.progress).await;
                    let event = match piece {
                        Piece::Next(piece) => self.piece_event(piece),
                        Piece::Done => {
                            self.step = Step::Finish;
                            continue;
                        }
                        Piece::HangUp => {
                            // On purpose: not a client cancellation.
                            self.guard.finished = true;
                            self.step = Step::End;
                            let err = std::io::Error::other("fake AI dropped the stream");
                            return Some(Err(err));
                        }
                    };
                    return Some(Ok(event));
                }
                Step::Finish => {
                    self.step = Step::Usage;
                    let reason = self.answer.finish_reason();
                    return Some(Ok(self.choice_event(
                        16,
                        |b| b.extend_from_slice(b"{}"),
                        Some(reason),
                    )));
                }
                Step::Usage => {
                    self.step = Step::Done;
                    if let Some(usage) = self.usage.take() {
                        return Some(Ok(self.usage_event(&usage)));
                    }
                }
                Step::Done => {
                    self.step = Step::End;
                    self.guard.finished = true;
                    if !self.answer.quirks.no_done {
                        let crlf = self.nl == "\r\n";
                        return Some(Ok(Bytes::from_static(if crlf {
                            b"data: [DONE]\r\n\r\n"
                        } else {
                            b"data: [DONE]\n\n"
                        })));
                    }
                }
                Step::End => return None,
            }
        }
    }

    /// One `data: {…"choices":[{"index":0,"delta":<delta>,…}]…}` event in one allocation.
    fn choice_event(
        &self,
        extra: usize,
        delta: impl FnOnce(&mut Vec<u8>),
        finish: Option<&str>,
    ) -> Bytes {
        let mut buf = Vec::with_capacity(self.head.len() + extra + 96);
        buf.extend_from_slice(self.head.as_bytes());
        buf.extend_from_slice(br#""choices":[{"index":0,"delta":"#);
        delta(&mut buf);
        buf.extend_from_slice(br#","logprobs":null,"finish_reason":"#);
        match finish {
            Some(reason) => push_json_str(&mut buf, reason),
            None => buf.extend_from_slice(b"null"),
        }
        buf.extend_from_slice(b"}]");
        buf.extend_from_slice(self.usage_field.as_bytes());
        buf.push(b'}');
        buf.extend_from_slice(self.nl.as_bytes());
        buf.extend_from_slice(self.nl.as_bytes());
        Bytes::from(buf)
    }

    fn role_event(&self) -> Bytes {
        match &self.answer.payload {
            Payload::Text(_) => self.choice_event(
                40,
                |b| b.extend_from_slice(br#"{"role":"assistant","content":""}"#),
                None,
            ),
            Payload::Tool {
                preface, id, name, ..
            } => {
                let head = self.choice_event(
                    160 + id.len() + name.len(),
                    |b| {
                        b.extend_from_slice(
                            br#"{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"#,
                        );
                        push_json_str(b, id);
                        b.extend_from_slice(br#","type":"function","function":{"name":"#);
                        push_json_str(b, name);
                        b.extend_from_slice(br#","arguments":""}}]}"#);
                    },
                    None,
                );
                if preface.is_empty() {
                    return head;
                }
                // The text first, in its own chunk, then the call's head: two events.
                let said = self.choice_event(
                    preface.len() + 40,
                    |b| {
                        b.extend_from_slice(br#"{"role":"assistant","content":"#);
                        push_json_str(b, preface);
                        b.push(b'}');
                    },
                    None,
                );
                Bytes::from([said, head].concat())
            }
        }
    }

    fn piece_event(&self, piece: &str) -> Bytes {
        let (open, close): (&[u8], &[u8]) = match self.answer.payload {
            Payload::Text(_) => (br#"{"content":"#, b"}"),
            Payload::Tool { .. } => (
                br#"{"tool_calls":[{"index":0,"function":{"arguments":"#,
                b"}}]}",
            ),
        };
        self.choice_event(
            open.len() + piece.len() + 16,
            |b| {
                b.extend_from_slice(open);
                push_json_str(b, piece);
                b.extend_from_slice(close);
            },
            None,
        )
    }

    fn reasoning_event(&self, piece: &str) -> Bytes {
        let open: &[u8] = if self.answer.quirks.reasoning_field {
            br#"{"reasoning":"#
        } else {
            br#"{"reasoning_content":"#
        };
        self.choice_event(
            open.len() + piece.len() + 8,
            |b| {
                b.extend_from_slice(open);
                push_json_str(b, piece);
                b.push(b'}');
            },
            None,
        )
    }

    fn usage_event(&self, usage: &Value) -> Bytes {
        let (head, nl) = (&self.head, self.nl);
        Bytes::from(format!(r#"{head}"choices":[],"usage":{usage}}}{nl}{nl}"#))
    }
}
