//! A fake AI provider: a real HTTP server speaking OpenAI's Chat Completions wire protocol
//! (JSON, or Server-Sent Events when `"stream": true`) and Anthropic's Messages API
//! ([`anthropic`], `POST /v1/messages`) that misbehaves on demand, so the AI layer is
//! tested against bytes on a socket rather than against mocks. Both protocols take their
//! behaviour from one queue.
//!
//! Connections are served by hand (hyper, one task per connection in a `JoinSet`) rather
//! than with `axum::serve`, so that dropping the fake aborts every connection at once,
//! stalled ones included.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

mod anthropic;

/// Added to the words of the messages, as real tokenizers add per-request overhead.
pub const PROMPT_OVERHEAD: u64 = 3;
/// Characters per streamed piece of tool-call arguments.
const TOOL_ARGS_CHUNK: usize = 8;
const DEFAULT_MODELS: [&str; 2] = ["fake-small", "fake-large"];

#[derive(Clone, Debug)]
pub enum Behavior {
    /// Answer "Echo: <content of the last user message>" (streamed in words if stream=true).
    Echo,
    /// Answer with this text.
    Reply(Reply),
    /// Answer with an HTTP error status and OpenAI-style error JSON body; `retry_after`
    /// sets the Retry-After header (seconds).
    Status { code: u16, retry_after: Option<u64> },
    /// Accept the connection and never send response headers (hang until the client
    /// gives up).
    Stall,
    /// Stream headers and `after_chunks` content chunks, then abruptly drop the connection
    /// (no [DONE], no finish_reason). Without `stream`, half the JSON body, then the drop.
    DropMidStream { text: String, after_chunks: usize },
    /// Ask the client to call a tool: one assistant message with `tool_calls`
    /// (finish_reason "tool_calls"), streamed as OpenAI does.
    ToolCall { name: String, arguments: Value },
    /// Say `text` first, then ask for the tool call in the same answer (as Claude does:
    /// "Let me look that up.", then the call).
    ToolCallAfterText {
        text: String,
        name: String,
        arguments: Value,
    },
}

impl From<Reply> for Behavior {
    fn from(reply: Reply) -> Self {
        Behavior::Reply(reply)
    }
}

#[derive(Clone, Debug)]
pub struct Reply {
    pub text: String,
    /// Characters per streamed chunk (default: split on words, one word+space per chunk).
    pub chunk_chars: Option<usize>,
    /// Delay before each streamed chunk (default 0); also delays the first chunk (time to
    /// first token). Without `stream`, the whole answer waits delay × chunks.
    pub chunk_delay: Duration,
    /// Report usage. Default true. In streams, usage comes in a final chunk with
    /// `choices: []` when the request has `stream_options.include_usage: true`.
    pub usage: bool,
    /// Stream quirks (they do not change non-streaming answers).
    pub quirks: Quirks,
    /// End as cut off by the token limit (`length`; Anthropic's `max_tokens`).
    pub length_limited: bool,
}

impl Reply {
    pub fn text(t: impl Into<String>) -> Self {
        Self {
            text: t.into(),
            chunk_chars: None,
            chunk_delay: Duration::ZERO,
            usage: true,
            quirks: Quirks::default(),
            length_limited: false,
        }
    }

    pub fn delay(mut self, d: Duration) -> Self {
        self.chunk_delay = d;
        self
    }

    pub fn chunk_chars(mut self, n: usize) -> Self {
        self.chunk_chars = Some(n.max(1));
        self
    }

    pub fn no_usage(mut self) -> Self {
        self.usage = false;
        self
    }

    pub fn quirks(mut self, q: Quirks) -> Self {
        self.quirks = q;
        self
    }

    pub fn length_limited(mut self) -> Self {
        self.length_limited = true;
        self
    }
}

#[derive(Clone, Debug, Default)]
pub struct Quirks {
    /// Send `"usage": {}` (empty object) on every chunk, as some proxies do.
    pub empty_usage_objects: bool,
    /// Omit `id` (and `created`) from chunks.
    pub missing_ids: bool,
    /// End the stream without the `data: [DONE]` line (just close after finish_reason).
    pub no_done: bool,
    /// Send SSE comment lines (": keep-alive") between chunks, and blank `data:` keep-alives.
    pub keep_alive_comments: bool,
    /// Use "\r\n" line endings.
    pub crlf: bool,
}

struct Shared {
    api_key: Option<String>,
    behaviors: Mutex<VecDeque<Behavior>>,
    requests: Mutex<Vec<Value>>,
    models: Mutex<Vec<String>>,
    seq: AtomicU64,
    open_streams: AtomicUsize,
    cancelled_streams: AtomicUsize,
    /// Delay before each streamed chunk of an `Echo` answer.
    echo_delay: Mutex<Duration>,
}

/// A panicking test must not turn every later lock into a second panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct FakeAi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl FakeAi {
    /// Start on 127.0.0.1:0. Requires `Authorization: Bearer <api_key>` when `api_key` is
    /// Some (401 otherwise, OpenAI error JSON).
    pub async fn start(api_key: Option<&str>) -> FakeAi {
        Self::start_on("127.0.0.1:0", api_key).await
    }

    /// Start on a given address (the `nexus-fake-ai` binary uses a fixed port).
    pub async fn start_on(addr: &str, api_key: Option<&str>) -> FakeAi {
        let listener = TcpListener::bind(addr)
            .await
            .expect("bind the fake AI server");
        let addr = listener.local_addr().expect("fake AI server address");
        let shared = Arc::new(Shared {
            api_key: api_key.map(str::to_owned),
            behaviors: Mutex::default(),
            requests: Mutex::default(),
            models: Mutex::new(DEFAULT_MODELS.map(String::from).to_vec()),
            seq: AtomicU64::new(1),
            open_streams: AtomicUsize::new(0),
            cancelled_streams: AtomicUsize::new(0),
            echo_delay: Mutex::new(Duration::ZERO),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(create_chat_completion))
            .route("/v1/messages", post(anthropic::create_message))
            .route("/v1/models", get(list_models))
            .fallback(unknown_route)
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(shared.clone());
        let server = tokio::spawn(serve(listener, app));
        FakeAi {
            addr,
            shared,
            server,
        }
    }

    /// Pace `Echo` answers: this delay comes before every streamed word (for browser tests
    /// that must see an answer arrive, and stop it).
    pub fn set_echo_delay(&self, d: Duration) {
        *lock(&self.shared.echo_delay) = d;
    }

    /// The OpenAI-style base URL, e.g. "http://127.0.0.1:PORT/v1".
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queue a behaviour: each valid chat request takes the next one (Echo when empty).
    pub fn push(&self, b: Behavior) {
        lock(&self.shared.behaviors).push_back(b);
    }

    pub fn push_many(&self, bs: impl IntoIterator<Item = Behavior>) {
        lock(&self.shared.behaviors).extend(bs);
    }

    /// Every chat request body received (either protocol), in order, including ones
    /// answered with errors (a body that is not JSON is kept as a JSON string).
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.shared.requests).clone()
    }

    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// Streams started and not yet finished or dropped.
    pub fn open_streams(&self) -> usize {
        self.shared.open_streams.load(Ordering::SeqCst)
    }

    /// Streams that ended because the client went away before the end.
    pub fn cancelled_streams(&self) -> usize {
        self.shared.cancelled_streams.load(Ordering::SeqCst)
    }

    /// Replace the models GET /models lists and chat requests may name.
    pub fn set_models(&self, models: &[&str]) {
        *lock(&self.shared.models) = models.iter().map(|m| m.to_string()).collect();
    }
}

impl Drop for FakeAi {
    fn drop(&mut self) {
        // Dropping the accept loop drops its JoinSet, which aborts every connection.
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, app: Router) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Small SSE writes must leave at once, not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let service = TowerToHyperService::new(app.clone());
                    connections.spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Most likely out of file descriptors: let some connections finish.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn openai_error(status: StatusCode, message: &str, kind: &str, code: Option<&str>) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (status, Json(body)).into_response()
}

/// The 401 answer, unless the request carries the expected bearer key (or none is set).
fn unauthorized(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
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

async fn unknown_route() -> Response {
    openai_error(
        StatusCode::NOT_FOUND,
        "Unknown request URL.",
        "invalid_request_error",
        Some("unknown_url"),
    )
}

async fn list_models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if anthropic::is_anthropic(&headers) {
        return anthropic::list_models(&shared, &headers);
    }
    if let Some(denied) = unauthorized(&shared, &headers) {
        return denied;
    }
    let data: Vec<Value> = lock(&shared.models)
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "nexus-test"}))
        .collect();
    Json(json!({"object": "list", "data": data})).into_response()
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
        let stream = body["stream"].as_bool().unwrap_or(false);
        Ok(Self {
            model: model.to_owned(),
            stream,
            include_usage: stream && body["stream_options"]["include_usage"] == true,
            prompt_tokens: words + PROMPT_OVERHEAD,
            last_user,
        })
    }
}

/// The text of a message content: a string, or the text parts of a content-part array.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn count_words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Parse a request body as JSON and record it (as a JSON string if it is not JSON).
fn record(shared: &Shared, body: &Bytes) -> Option<Value> {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let recorded = parsed
        .clone()
        .unwrap_or_else(|| Value::String(String::from_utf8_lossy(body).into()));
    lock(&shared.requests).push(recorded);
    parsed
}

/// What the next valid request gets, from the queue: an answer, or an error status.
/// A `Stall` never returns.
enum Next {
    Answer { seq: u64, answer: Answer },
    Status { code: u16, retry_after: Option<u64> },
}

async fn next_answer(shared: &Shared, last_user: &str) -> Next {
    let behavior = lock(&shared.behaviors)
        .pop_front()
        .unwrap_or(Behavior::Echo);
    let seq = shared.seq.fetch_add(1, Ordering::Relaxed);
    let answer = match behavior {
        Behavior::Status { code, retry_after } => return Next::Status { code, retry_after },
        Behavior::Stall => return std::future::pending().await,
        Behavior::Echo => Answer::reply(
            Reply::text(format!("Echo: {last_user}")).delay(*lock(&shared.echo_delay)),
        ),
        Behavior::Reply(reply) => Answer::reply(reply),
        Behavior::DropMidStream { text, after_chunks } => Answer {
            abort_after: Some(after_chunks),
            ..Answer::reply(Reply::text(text))
        },
        Behavior::ToolCall { name, arguments } => {
            Answer::tool(seq, String::new(), name, &arguments)
        }
        Behavior::ToolCallAfterText {
            text,
            name,
            arguments,
        } => Answer::tool(seq, text, name, &arguments),
    };
    Next::Answer { seq, answer }
}

async fn create_chat_completion(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let read = record(&shared, &body).as_ref().map(ChatRequest::read);
    if let Some(denied) = unauthorized(&shared, &headers) {
        return denied;
    }
    let req = match read {
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

enum Payload {
    Text(String),
    Tool {
        /// Text said before the call, streamed whole in one chunk (empty: none).
        preface: String,
        id: String,
        name: String,
        arguments: String,
    },
}

struct Answer {
    payload: Payload,
    chunk_chars: Option<usize>,
    delay: Duration,
    usage: bool,
    quirks: Quirks,
    abort_after: Option<usize>,
    length_limited: bool,
}

impl Answer {
    fn reply(r: Reply) -> Self {
        Self {
            payload: Payload::Text(r.text),
            chunk_chars: r.chunk_chars,
            delay: r.chunk_delay,
            usage: r.usage,
            quirks: r.quirks,
            abort_after: None,
            length_limited: r.length_limited,
        }
    }

    fn tool(seq: u64, preface: String, name: String, arguments: &Value) -> Self {
        Self {
            payload: Payload::Tool {
                preface,
                id: format!("call_fake{seq:08}"),
                name,
                arguments: arguments.to_string(),
            },
            ..Answer::reply(Reply::text(""))
        }
    }

    /// The text said before a tool call.
    fn preface(&self) -> &str {
        match &self.payload {
            Payload::Tool { preface, .. } => preface,
            Payload::Text(_) => "",
        }
    }

    /// The text that is split into streamed pieces.
    fn streamed(&self) -> &str {
        match &self.payload {
            Payload::Text(t) => t,
            Payload::Tool { arguments, .. } => arguments,
        }
    }

    fn piece_chars(&self) -> Option<usize> {
        match self.payload {
            Payload::Text(_) => self.chunk_chars,
            Payload::Tool { .. } => Some(TOOL_ARGS_CHUNK),
        }
    }

    fn completion_tokens(&self) -> u64 {
        match &self.payload {
            Payload::Text(t) => count_words(t),
            Payload::Tool {
                preface,
                name,
                arguments,
                ..
            } => count_words(preface) + count_words(name) + count_words(arguments),
        }
    }

    fn finish_reason(&self) -> &'static str {
        match self.payload {
            _ if self.length_limited => "length",
            Payload::Text(_) => "stop",
            Payload::Tool { .. } => "tool_calls",
        }
    }
}

/// Byte length of the next streamed piece of `rest`: `chars` characters, or one word with
/// the whitespace around it.
fn next_piece(rest: &str, chars: Option<usize>) -> usize {
    if let Some(n) = chars {
        return rest.char_indices().nth(n).map_or(rest.len(), |(i, _)| i);
    }
    let word = rest.len() - rest.trim_start().len();
    let word_end = rest[word..]
        .find(char::is_whitespace)
        .map_or(rest.len(), |i| word + i);
    let tail = &rest[word_end..];
    word_end + (tail.len() - tail.trim_start().len())
}

fn usage_json(prompt: u64, completion: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    })
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
    let message = match &answer.payload {
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
        body["usage"] = usage_json(call.req.prompt_tokens, answer.completion_tokens());
    }
    if answer.abort_after.is_none() {
        return Json(body).into_response();
    }
    let full = Bytes::from(body.to_string());
    let half = full.slice(..full.len() / 2);
    let parts = futures::stream::once(async { Ok(half) }).chain(futures::stream::once(async {
        hang_up().await;
        Err(std::io::Error::other("fake AI dropped the connection"))
    }));
    let headers = [(header::CONTENT_TYPE, "application/json")];
    (headers, Body::from_stream(parts)).into_response()
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
    let usage = (call.req.include_usage && answer.usage)
        .then(|| (call.req.prompt_tokens, answer.completion_tokens()));
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
        pos: 0,
        sent: 0,
        step: Step::Role,
        keep_alive_due: false,
        guard: StreamGuard::open(shared),
    };
    let events = futures::stream::unfold(state, |mut s| async move {
        let event = s.next_event().await?;
        Some((event, s))
    });
    let headers = [
        (header::CONTENT_TYPE, "text/event-stream"),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    (headers, Body::from_stream(events)).into_response()
}

/// Counts a stream as open while it lives; dropped before `finished`, the client went away.
struct StreamGuard {
    shared: Arc<Shared>,
    finished: bool,
}

impl StreamGuard {
    fn open(shared: Arc<Shared>) -> Self {
        shared.open_streams.fetch_add(1, Ordering::SeqCst);
        Self {
            shared,
            finished: false,
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.shared.cancelled_streams.fetch_add(1, Ordering::SeqCst);
        }
        self.shared.open_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Clone, Copy)]
enum Step {
    Role,
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
    /// (prompt, completion) tokens for the final usage chunk, when one is due.
    usage: Option<(u64, u64)>,
    answer: Answer,
    /// Byte offset in the streamed text, and pieces sent so far.
    pos: usize,
    sent: usize,
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
                    self.pause().await;
                    self.step = Step::Pieces;
                    return Some(Ok(self.role_event()));
                }
                Step::Pieces => {
                    let rest = &self.answer.streamed()[self.pos..];
                    if (self.answer.abort_after).is_some_and(|n| n <= self.sent || rest.is_empty())
                    {
                        // The server hangs up on purpose: not a client cancellation.
                        self.guard.finished = true;
                        self.step = Step::End;
                        hang_up().await;
                        let err = std::io::Error::other("fake AI dropped the stream");
                        return Some(Err(err));
                    }
                    if rest.is_empty() {
                        self.step = Step::Finish;
                        continue;
                    }
                    if self.sent > 0 {
                        self.pause().await;
                    }
                    let rest = &self.answer.streamed()[self.pos..];
                    let len = next_piece(rest, self.answer.piece_chars());
                    let event = self.piece_event(&rest[..len]);
                    self.pos += len;
                    self.sent += 1;
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
                    if let Some((prompt, completion)) = self.usage {
                        return Some(Ok(self.usage_event(prompt, completion)));
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

    async fn pause(&self) {
        if !self.answer.delay.is_zero() {
            tokio::time::sleep(self.answer.delay).await;
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

    fn usage_event(&self, prompt: u64, completion: u64) -> Bytes {
        let (head, nl, total) = (&self.head, self.nl, prompt + completion);
        Bytes::from(format!(
            concat!(
                r#"{head}"choices":[],"usage":{{"prompt_tokens":{prompt},"#,
                r#""completion_tokens":{completion},"total_tokens":{total}}}}}{nl}{nl}"#,
            ),
            head = head,
            prompt = prompt,
            completion = completion,
            total = total,
            nl = nl,
        ))
    }
}

/// Before a body fails on purpose: hyper flushes what it holds when the body is pending,
/// so the client gets the bytes before the drop instead of nothing at all.
async fn hang_up() {
    tokio::task::yield_now().await;
}

fn push_json_str(buf: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(buf, s).expect("a string always serialises into a Vec");
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn chat(model: &str, user: &str) -> Value {
        json!({"model": model, "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": user},
        ]})
    }

    fn streamed(model: &str, user: &str, include_usage: bool) -> Value {
        let mut body = chat(model, user);
        body["stream"] = json!(true);
        if include_usage {
            body["stream_options"] = json!({"include_usage": true});
        }
        body
    }

    async fn post(fake: &FakeAi, body: &Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/chat/completions", fake.base_url()))
            .json(body)
            .send()
            .await
            .expect("send chat request")
    }

    async fn post_text(fake: &FakeAi, body: &Value) -> String {
        post(fake, body).await.text().await.expect("read body")
    }

    /// The data of each SSE event, keep-alives (comments, blank data) left out.
    fn data(body: &str) -> Vec<&str> {
        body.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .collect()
    }

    fn parse_chunks(body: &str) -> Vec<Value> {
        data(body)
            .into_iter()
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).expect("chunk is JSON"))
            .collect()
    }

    fn content(chunks: &[Value]) -> String {
        chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect()
    }

    #[tokio::test]
    async fn non_streaming_echo_reports_usage() {
        let fake = FakeAi::start(None).await;
        let resp = post(&fake, &chat("fake-small", "hello there")).await;
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.expect("json body");
        assert_eq!(body["object"], "chat.completion");
        assert!(
            body["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("chatcmpl-"))
        );
        assert_eq!(body["model"], "fake-small");
        let choice = &body["choices"][0];
        assert_eq!(choice["message"]["role"], "assistant");
        assert_eq!(choice["message"]["content"], "Echo: hello there");
        assert_eq!(choice["finish_reason"], "stop");
        let prompt = 4 + PROMPT_OVERHEAD;
        let usage =
            json!({"prompt_tokens": prompt, "completion_tokens": 3, "total_tokens": prompt + 3});
        assert_eq!(body["usage"], usage);
        assert_eq!(fake.requests(), vec![chat("fake-small", "hello there")]);
    }

    #[tokio::test]
    async fn stream_reassembles_and_ends_with_done() {
        let fake = FakeAi::start(None).await;
        let resp = post(&fake, &streamed("fake-large", "hello there", false)).await;
        let content_type = resp.headers()[header::CONTENT_TYPE].clone();
        assert_eq!(content_type, "text/event-stream");
        let body = resp.text().await.expect("read stream");
        assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
        let chunks = parse_chunks(&body);
        assert_eq!(chunks.len(), 5, "role, three words, finish: {body}");
        assert_eq!(
            chunks[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert_eq!(
            chunks[1]["choices"][0]["delta"],
            json!({"content": "Echo: "})
        );
        assert_eq!(content(&chunks), "Echo: hello there");
        for c in &chunks {
            assert_eq!(c["object"], "chat.completion.chunk");
            assert_eq!(c["model"], "fake-large");
            assert!(c.get("usage").is_none());
        }
        let last = &chunks[4]["choices"][0];
        assert_eq!(
            (&last["delta"], &last["finish_reason"]),
            (&json!({}), &json!("stop"))
        );
        assert_eq!(fake.open_streams(), 0);
        assert_eq!(fake.cancelled_streams(), 0);
    }

    #[tokio::test]
    async fn include_usage_adds_a_usage_chunk() {
        let fake = FakeAi::start(None).await;
        fake.push(Reply::text("abcdefghij").chunk_chars(4).into());
        let body = post_text(&fake, &streamed("fake-small", "one two", true)).await;
        let chunks = parse_chunks(&body);
        let (usage, rest) = chunks.split_last().expect("chunks");
        assert_eq!(usage["choices"], json!([]));
        let prompt = 4 + PROMPT_OVERHEAD;
        let expected =
            json!({"prompt_tokens": prompt, "completion_tokens": 1, "total_tokens": prompt + 1});
        assert_eq!(usage["usage"], expected);
        assert!(
            rest.iter()
                .all(|c| c["usage"].is_null() && c.get("usage").is_some())
        );
        let pieces: Vec<_> = rest
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(pieces, ["", "abcd", "efgh", "ij"]);
        // Without usage, no usage chunk even when asked for.
        fake.push(Reply::text("x").no_usage().into());
        let body = post_text(&fake, &streamed("fake-small", "one two", true)).await;
        assert!(
            parse_chunks(&body)
                .iter()
                .all(|c| c["choices"] != json!([]))
        );
    }

    #[tokio::test]
    async fn status_sets_retry_after_and_error_json() {
        let fake = FakeAi::start(None).await;
        fake.push_many([
            Behavior::Status {
                code: 429,
                retry_after: Some(7),
            },
            Behavior::Status {
                code: 503,
                retry_after: None,
            },
        ]);
        let resp = post(&fake, &chat("fake-small", "hi")).await;
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "7");
        let body: Value = resp.json().await.expect("json body");
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        let resp = post(&fake, &streamed("fake-small", "hi", false)).await;
        assert_eq!(resp.status(), 503);
        assert!(resp.headers().get(header::RETRY_AFTER).is_none());
        let body: Value = resp.json().await.expect("json body");
        assert_eq!(body["error"]["type"], "server_error");
        let resp = post(&fake, &chat("fake-small", "hi")).await;
        assert_eq!(resp.status(), 200, "queue empty: echo again");
        assert_eq!(fake.request_count(), 3);
    }

    #[tokio::test]
    async fn tool_call_arguments_reassemble() {
        let fake = FakeAi::start(None).await;
        let arguments = json!({"city": "Paris, France", "units": "metric", "days": 3});
        let call = Behavior::ToolCall {
            name: "get_weather".into(),
            arguments: arguments.clone(),
        };
        fake.push_many([call.clone(), call]);

        let body = post_text(&fake, &streamed("fake-small", "weather?", false)).await;
        let chunks = parse_chunks(&body);
        let first = &chunks[0]["choices"][0]["delta"];
        assert_eq!(first["role"], "assistant");
        assert!(first["content"].is_null() && first.get("content").is_some());
        let head = &first["tool_calls"][0];
        assert_eq!(head["index"], 0);
        assert!(
            head["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("call_"))
        );
        assert_eq!(head["type"], "function");
        assert_eq!(
            head["function"],
            json!({"name": "get_weather", "arguments": ""})
        );
        let deltas: Vec<&str> = chunks[1..]
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
            })
            .collect();
        assert!(deltas.len() > 2, "{deltas:?}");
        let joined: Value = serde_json::from_str(&deltas.concat()).expect("arguments are JSON");
        assert_eq!(joined, arguments);
        let last = chunks.last().expect("chunks");
        assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
        assert!(body.ends_with("data: [DONE]\n\n"));

        let body: Value = post(&fake, &chat("fake-small", "weather?"))
            .await
            .json()
            .await
            .expect("json");
        let message = &body["choices"][0]["message"];
        assert!(message["content"].is_null());
        let function = &message["tool_calls"][0]["function"];
        assert_eq!(function["name"], "get_weather");
        let parsed: Value =
            serde_json::from_str(function["arguments"].as_str().expect("string")).expect("JSON");
        assert_eq!(parsed, arguments);
        assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    }

    #[tokio::test]
    async fn text_before_a_tool_call_comes_first() {
        let fake = FakeAi::start(None).await;
        let call = Behavior::ToolCallAfterText {
            text: "Let me look.".into(),
            name: "list_members".into(),
            arguments: json!({}),
        };
        fake.push_many([call.clone(), call]);
        let chunks = parse_chunks(&post_text(&fake, &streamed("fake-small", "who?", false)).await);
        assert_eq!(chunks[0]["choices"][0]["delta"]["content"], "Let me look.");
        assert_eq!(
            chunks[1]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"],
            "list_members"
        );
        let body: Value = post(&fake, &chat("fake-small", "who?"))
            .await
            .json()
            .await
            .expect("json");
        let message = &body["choices"][0]["message"];
        assert_eq!(message["content"], "Let me look.");
        assert_eq!(message["tool_calls"][0]["function"]["name"], "list_members");
    }

    #[tokio::test]
    async fn drop_mid_stream_ends_without_done() {
        let fake = FakeAi::start(None).await;
        fake.push(Behavior::DropMidStream {
            text: "one two three four".into(),
            after_chunks: 2,
        });
        let mut events = post(&fake, &streamed("fake-small", "hi", true))
            .await
            .bytes_stream();
        let mut received = Vec::new();
        let mut failed = false;
        while let Some(part) = events.next().await {
            match part {
                Ok(bytes) => received.extend_from_slice(&bytes),
                Err(_) => failed = true,
            }
        }
        assert!(failed, "the body must end in an error, not a clean close");
        let body = String::from_utf8(received).expect("utf-8");
        assert!(!body.contains("[DONE]") && !body.contains("finish_reason\":\"stop"));
        assert_eq!(content(&parse_chunks(&body)), "one two ");
        assert_eq!((fake.open_streams(), fake.cancelled_streams()), (0, 0));

        fake.push(Behavior::DropMidStream {
            text: "one two".into(),
            after_chunks: 1,
        });
        let resp = post(&fake, &chat("fake-small", "hi")).await;
        assert_eq!(resp.status(), 200, "headers first, then half a body");
        assert!(resp.json::<Value>().await.is_err());
    }

    #[tokio::test]
    async fn quirks_change_the_stream() {
        let fake = FakeAi::start(None).await;
        let with = |q: Quirks| Behavior::Reply(Reply::text("a b").quirks(q));
        let req = streamed("fake-small", "hi", true);

        fake.push(with(Quirks {
            empty_usage_objects: true,
            ..Quirks::default()
        }));
        let chunks = parse_chunks(&post_text(&fake, &req).await);
        let (usage, rest) = chunks.split_last().expect("chunks");
        assert!(rest.iter().all(|c| c["usage"] == json!({})));
        assert_eq!(usage["usage"]["total_tokens"], 3 + 2 + PROMPT_OVERHEAD);

        fake.push(with(Quirks {
            missing_ids: true,
            ..Quirks::default()
        }));
        let chunks = parse_chunks(&post_text(&fake, &req).await);
        assert!(
            chunks
                .iter()
                .all(|c| c.get("id").is_none() && c.get("created").is_none())
        );
        assert!(chunks.iter().all(|c| c["model"] == "fake-small"));

        fake.push(with(Quirks {
            no_done: true,
            ..Quirks::default()
        }));
        let body = post_text(&fake, &req).await;
        assert!(!body.contains("[DONE]") && body.ends_with("}\n\n"));
        assert_eq!(content(&parse_chunks(&body)), "a b");

        fake.push(with(Quirks {
            keep_alive_comments: true,
            ..Quirks::default()
        }));
        let body = post_text(&fake, &req).await;
        assert!(body.contains("\n: keep-alive\n") && body.contains("\ndata:\n\n"));
        assert_eq!(content(&parse_chunks(&body)), "a b");
        assert!(body.ends_with("data: [DONE]\n\n"));

        fake.push(with(Quirks {
            crlf: true,
            ..Quirks::default()
        }));
        let body = post_text(&fake, &req).await;
        assert!(body.ends_with("data: [DONE]\r\n\r\n"));
        assert_eq!(body.matches('\n').count(), body.matches("\r\n").count());
        assert_eq!(content(&parse_chunks(&body)), "a b");
    }

    #[tokio::test]
    async fn unknown_model_is_404_and_keeps_the_queue() {
        let fake = FakeAi::start(None).await;
        fake.push(Reply::text("queued").into());
        let resp = post(&fake, &chat("gpt-nope", "hi")).await;
        assert_eq!(resp.status(), 404);
        let body: Value = resp.json().await.expect("json body");
        let error = json!({
            "message": "The model `gpt-nope` does not exist",
            "type": "invalid_request_error",
            "param": null,
            "code": "model_not_found",
        });
        assert_eq!(body["error"], error);
        let body: Value = post(&fake, &chat("fake-small", "hi"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(body["choices"][0]["message"]["content"], "queued");
        assert_eq!(fake.request_count(), 2);
    }

    #[tokio::test]
    async fn models_are_listed_and_settable() {
        let fake = FakeAi::start(None).await;
        let url = format!("{}/models", fake.base_url());
        let list: Value = reqwest::get(&url)
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(list["object"], "list");
        assert_eq!(
            list["data"][0],
            json!({"id": "fake-small", "object": "model", "created": 0, "owned_by": "nexus-test"})
        );
        assert_eq!(list["data"][1]["id"], "fake-large");
        fake.set_models(&["llama3"]);
        let list: Value = reqwest::get(&url)
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(
            list["data"],
            json!([{"id": "llama3", "object": "model", "created": 0, "owned_by": "nexus-test"}])
        );
        assert_eq!(post(&fake, &chat("fake-small", "hi")).await.status(), 404);
        assert_eq!(post(&fake, &chat("llama3", "hi")).await.status(), 200);
    }

    #[tokio::test]
    async fn api_key_is_required_when_set() {
        let fake = FakeAi::start(Some("sk-test")).await;
        let http = reqwest::Client::new();
        let url = format!("{}/chat/completions", fake.base_url());
        let body = chat("fake-small", "hi");
        let resp = http.post(&url).json(&body).send().await.expect("send");
        assert_eq!(resp.status(), 401);
        let error: Value = resp.json().await.expect("json");
        assert_eq!(error["error"]["code"], "invalid_api_key");
        let resp = http
            .post(&url)
            .bearer_auth("sk-wrong")
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 401);
        let resp = http
            .post(&url)
            .bearer_auth("sk-test")
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 200);
        let models = format!("{}/models", fake.base_url());
        assert_eq!(http.get(&models).send().await.expect("send").status(), 401);
        let resp = http
            .get(&models)
            .bearer_auth("sk-test")
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 200);
        assert_eq!(
            fake.request_count(),
            3,
            "rejected requests are recorded too"
        );
    }

    async fn wait_until(what: &str, cond: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !cond() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn client_disconnect_cancels_the_stream() {
        let fake = FakeAi::start(None).await;
        let slow = Reply::text("one two three four five six seven eight nine ten");
        fake.push(slow.delay(Duration::from_millis(50)).into());
        let resp = post(&fake, &streamed("fake-small", "hi", false)).await;
        assert_eq!(fake.open_streams(), 1);
        let mut events = resp.bytes_stream();
        let mut seen = String::new();
        while !seen.contains("one ") {
            let bytes = events.next().await.expect("more events").expect("bytes");
            seen.push_str(std::str::from_utf8(&bytes).expect("utf-8"));
        }
        drop(events);
        wait_until("the stream to close", || fake.open_streams() == 0).await;
        assert_eq!(fake.cancelled_streams(), 1);
    }

    #[tokio::test]
    async fn stall_hangs_until_the_client_gives_up() {
        let fake = FakeAi::start(None).await;
        fake.push(Behavior::Stall);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .expect("client");
        let url = format!("{}/chat/completions", fake.base_url());
        let err = http
            .post(&url)
            .json(&chat("fake-small", "hi"))
            .send()
            .await
            .expect_err("stalls");
        assert!(err.is_timeout());
        let resp = http
            .post(&url)
            .json(&chat("fake-small", "hi"))
            .send()
            .await
            .expect("echo");
        assert_eq!(resp.status(), 200);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_streams() {
        let fake = Arc::new(FakeAi::start(None).await);
        let http = reqwest::Client::new();
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let (http, url) = (
                    http.clone(),
                    format!("{}/chat/completions", fake.base_url()),
                );
                tokio::spawn(async move {
                    let body = streamed("fake-small", &format!("number {i}"), true);
                    let resp = http.post(url).json(&body).send().await.expect("send");
                    let text = resp.text().await.expect("read");
                    assert_eq!(content(&parse_chunks(&text)), format!("Echo: number {i}"));
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("stream task");
        }
        assert_eq!((fake.open_streams(), fake.cancelled_streams()), (0, 0));
        assert_eq!(fake.request_count(), 200);
    }
}
